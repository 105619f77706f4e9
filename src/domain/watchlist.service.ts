import { randomUUID } from 'node:crypto';
import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db, Queryable } from '../infra/db/db';
import { ANY_GRANT, type Access, type GrantAccess, type Watchlist, type WatchlistFields, type WatchlistRepo } from '../infra/db/watchlist.repo';
import { actorOf } from './actor';
import type { Principal } from './api-key';
import { ConflictError, ForbiddenError, NotFoundError, UnknownWatchlistError } from './errors';

export interface WatchlistServiceDeps {
  db: Db;
  watchlists: WatchlistRepo;
  audit: AuditRepo;
  /** Erases one subject with its receipt (SubjectService.erase); deleting a watchlist erases its subjects one by one. */
  eraseSubject: (p: Principal, subjectId: string) => Promise<unknown>;
  clock?: () => Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who may do what with a watchlist (API.md "Watchlists"). `read`: the owner, a live grantee (either access) and `*` see it;
 * `owner`: only the owning organization changes it, its subjects and grants. Anything the caller cannot read is a 404.
 */
export function createWatchlistAccess(d: { watchlists: WatchlistRepo; clock?: () => Date }) {
  const now = d.clock ?? (() => new Date());
  const { watchlists } = d;

  async function read(db: Queryable, p: Principal, id: string): Promise<{ watchlist: Watchlist; access: Access }> {
    const a = await watchlists.access(db, p.organization, id, ANY_GRANT, now());
    // Organization `*` (auditors, the bootstrap admin) reads everything and owns nothing but its own.
    const access = a?.access ?? (p.organization === '*' ? 'search' : null);
    if (!a || !access) throw new NotFoundError('Watchlist');
    return { watchlist: a.watchlist, access };
  }

  return {
    read,
    async owner(db: Queryable, p: Principal, id: string): Promise<Watchlist> {
      const { watchlist, access } = await read(db, p, id);
      if (access !== 'owner') throw new ForbiddenError('Only the organization that owns this watchlist may change it or its subjects.');
      return watchlist;
    },

    /** `ref` (name or id) of a watchlist the caller's organization owns, for enrolment; anything else is UNKNOWN_WATCHLIST. */
    async ownedByRef(db: Queryable, p: Principal, ref: string): Promise<Watchlist> {
      const w = UUID.test(ref) ? await watchlists.get(db, ref) : await watchlists.getByName(db, p.organization, ref);
      if (!w || w.organization !== p.organization) throw new UnknownWatchlistError([ref]);
      return w;
    },

    /**
     * Watchlist names or ids a search names, resolved against those the caller may search in `mode` (a name matches every such
     * watchlist of that name: the caller's own and granted ones). Any ref matching none → UNKNOWN_WATCHLIST, so a filter that
     * matches nothing can never read as "no hit".
     */
    async searchableByRefs(db: Queryable, p: Principal, mode: string, refs: string[]): Promise<string[]> {
      return matchRefs(await watchlists.listAccessible(db, p.organization, mode, now()), refs);
    },

    /** Like searchableByRefs, over every watchlist the caller may read (subject listings). */
    async readableByRefs(db: Queryable, p: Principal, refs: string[]): Promise<string[]> {
      return matchRefs(await watchlists.listAccessible(db, p.organization, ANY_GRANT, now(), p.organization === '*'), refs);
    },

    /** Every watchlist the caller may read now (the scope of a subject listing served by a read replica). */
    async readableIds(db: Queryable, p: Principal): Promise<string[]> {
      return (await watchlists.listAccessible(db, p.organization, ANY_GRANT, now(), p.organization === '*')).map((w) => w.id);
    },

    /** Every watchlist the caller may search in `mode` now (recorded with each search for oversight). */
    async searchableIds(db: Queryable, p: Principal, mode: string): Promise<string[]> {
      return (await watchlists.listAccessible(db, p.organization, mode, now())).map((w) => w.id);
    },
  };
}

function matchRefs(usable: Watchlist[], refs: string[]): string[] {
  const ids = new Set<string>();
  const unknown: string[] = [];
  for (const ref of refs) {
    const hit = usable.filter((w) => w.id === ref.toLowerCase() || w.name === ref);
    if (!hit.length) unknown.push(ref);
    for (const w of hit) ids.add(w.id);
  }
  if (unknown.length) throw new UnknownWatchlistError(unknown);
  return [...ids];
}

export type WatchlistAccess = ReturnType<typeof createWatchlistAccess>;

/** Watchlists and their grants. Every change is audited; free text (description) stays out of the chain. */
export function createWatchlistService(d: WatchlistServiceDeps & { access: WatchlistAccess }) {
  const now = d.clock ?? (() => new Date());
  const { db, watchlists, audit, access } = d;

  const unique = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new ConflictError('This organization already has a watchlist of that name (or a live grant to that organization).');
      throw e;
    }
  };

  return {
    async create(p: Principal, f: WatchlistFields) {
      return unique(() =>
        db.transaction(async (tx) => {
          const w = await watchlists.insert(tx, { id: randomUUID(), organization: p.organization, ...f });
          await audit.append(tx, { type: 'watchlist.created', actor: actorOf(p), payload: { watchlistId: w.id, name: w.name, jurisdiction: w.jurisdiction, retentionDays: w.retentionDays } });
          return w;
        }),
      );
    },

    async list(p: Principal) {
      return watchlists.listAccessible(db, p.organization, ANY_GRANT, now(), p.organization === '*');
    },

    async get(p: Principal, id: string) {
      const { watchlist, access: a } = await access.read(db, p, id);
      return { ...watchlist, access: a };
    },

    async update(p: Principal, id: string, patch: Partial<WatchlistFields>) {
      return unique(() =>
        db.transaction(async (tx) => {
          await access.owner(tx, p, id);
          const w = (await watchlists.update(tx, id, patch))!;
          await audit.append(tx, { type: 'watchlist.updated', actor: actorOf(p), payload: { watchlistId: id, fields: Object.keys(patch).sort() } });
          return w;
        }),
      );
    },

    /** Erases every subject (each with its own receipt and tombstone), then the watchlist and its grants. */
    async remove(p: Principal, id: string) {
      await access.owner(db, p, id);
      const receipts: unknown[] = [];
      for (const subjectId of await watchlists.subjectIds(db, id)) receipts.push(await d.eraseSubject(p, subjectId));
      return db.transaction(async (tx) => {
        await access.owner(tx, p, id);
        if ((await watchlists.subjectIds(tx, id)).length) throw new ConflictError('Subjects were enrolled while the watchlist was being deleted; retry.');
        await watchlists.delete(tx, id);
        const ev = await audit.append(tx, { type: 'watchlist.deleted', actor: actorOf(p), payload: { watchlistId: id, subjectsErased: receipts.length } });
        return { watchlistId: id, subjectsErased: receipts, auditHash: ev.hash };
      });
    },

    async grant(p: Principal, id: string, g: { organization: string; access: GrantAccess; expiresAt?: string | null }) {
      return unique(() =>
        db.transaction(async (tx) => {
          const w = await access.owner(tx, p, id);
          if (g.organization === w.organization) throw new ConflictError('A watchlist cannot be granted to the organization that owns it.');
          const grant = await watchlists.insertGrant(tx, { id: randomUUID(), watchlistId: id, organization: g.organization, access: g.access, expiresAt: g.expiresAt ?? null });
          await audit.append(tx, { type: 'watchlist.granted', actor: actorOf(p), payload: { watchlistId: id, grantId: grant.id, organization: grant.organization, access: grant.access, expiresAt: grant.expiresAt } });
          return grant;
        }),
      );
    },

    /** The owner's grants; organization `*` (auditors) reads them too. */
    async grants(p: Principal, id: string) {
      if (p.organization === '*') await access.read(db, p, id);
      else await access.owner(db, p, id);
      return watchlists.listGrants(db, id);
    },

    async revoke(p: Principal, id: string, grantId: string) {
      return db.transaction(async (tx) => {
        await access.owner(tx, p, id);
        const g = await watchlists.revokeGrant(tx, id, grantId, now());
        if (!g) throw new NotFoundError('Grant');
        await audit.append(tx, { type: 'watchlist.grant_revoked', actor: actorOf(p), payload: { watchlistId: id, grantId, organization: g.organization, access: g.access } });
        return g;
      });
    },
  };
}

export type WatchlistService = ReturnType<typeof createWatchlistService>;

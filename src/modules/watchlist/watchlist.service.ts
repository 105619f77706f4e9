import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../shared/db';
import type { WatchlistRepo } from './watchlist.repo';
import { ANY_GRANT, type Access, type Disclosure, type Grant, type GrantAccess, type Watchlist, type WatchlistAccess, type WatchlistFields } from './watchlist.model';
import { actorOf, type AuditLog } from '../audit/audit.model';
import { hasRole, type Principal } from '../../shared/principal';
import { ConflictError, ForbiddenError, NotFoundError, UnknownWatchlistError } from '../../shared/errors';

export interface WatchlistServiceDeps {
  db: Db;
  watchlists: WatchlistRepo;
  audit: AuditLog;
  /** Erases one subject with its receipt (SubjectService.erase); deleting a watchlist erases its subjects one by one. */
  eraseSubject: (p: Principal, subjectId: string) => Promise<unknown>;
  clock?: () => Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who may do what with a watchlist (API.md "Watchlists"). `read`: the owner, a live grantee (either access) and `*` see it;
 * `owner`: only the owning organization changes it, its subjects and grants. Anything the caller cannot read is a 404.
 */
export function createWatchlistAccess(d: { watchlists: WatchlistRepo; clock?: () => Date }): WatchlistAccess {
  const now = d.clock ?? (() => new Date());
  const { watchlists } = d;

  const ownedOrAll = async (db: Queryable, p: Principal) =>
    (await watchlists.listAccessible(db, p.organization, ANY_GRANT, now(), p.organization === '*')).filter((w) => p.organization === '*' || w.access === 'owner');

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

    /**
     * Like searchableByRefs, over the watchlists whose subjects the caller may read (subject listings): its own organization's,
     * every one for `*`. A grantee's watchlist is UNKNOWN_WATCHLIST here, as for a stranger: grants share searches, not records.
     */
    async readableByRefs(db: Queryable, p: Principal, refs: string[]): Promise<string[]> {
      return matchRefs(await ownedOrAll(db, p), refs);
    },

    /** Every watchlist whose subjects the caller may read now (the scope of a subject listing served by a read replica). */
    async readableIds(db: Queryable, p: Principal): Promise<string[]> {
      return (await ownedOrAll(db, p)).map((w) => w.id);
    },

    async readsSubjects(db: Queryable, p: Principal, id: string): Promise<boolean> {
      if (p.organization === '*') return true;
      return (await watchlists.get(db, id))?.organization === p.organization;
    },

    async disclosure(db: Queryable, p: Principal): Promise<(watchlistId: string) => Disclosure> {
      if (p.organization === '*') return () => 'full';
      const at = now();
      const full = new Set((await watchlists.listAccessible(db, p.organization, 'investigative', at)).map((w) => w.id));
      const screen = new Set((await watchlists.listAccessible(db, p.organization, 'screening', at)).map((w) => w.id));
      return (id) => (full.has(id) ? 'full' : screen.has(id) ? 'screen' : 'none');
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

  /** The enrolment overrule policy decides what enters the gallery below the quality gate: the owner's admin sets it. */
  const mayPolicy = (p: Principal, f: Partial<WatchlistFields>) => {
    if (f.enrolment && !hasRole(p, 'admin')) throw new ForbiddenError("Only an admin of the owning organization sets a watchlist's enrolment policy.");
  };

  return {
    async create(p: Principal, f: WatchlistFields) {
      mayPolicy(p, f);
      return unique(() =>
        db.transaction(async (tx) => {
          const w = await watchlists.insert(tx, { id: randomUUID(), organization: p.organization, ...f });
          await audit.append(tx, { type: 'watchlist.created', actor: actorOf(p), payload: { watchlistId: w.id, name: w.name, kind: w.kind, jurisdiction: w.jurisdiction, retentionDays: w.retentionDays, enrolmentAcceptQuality: w.enrolment.acceptQuality } });
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
          const before = await access.owner(tx, p, id);
          mayPolicy(p, patch);
          const w = (await watchlists.update(tx, id, patch))!;
          const policy = patch.enrolment ? { enrolmentAcceptQuality: { from: before.enrolment.acceptQuality, to: w.enrolment.acceptQuality } } : {};
          await audit.append(tx, { type: 'watchlist.updated', actor: actorOf(p), payload: { watchlistId: id, fields: Object.keys(patch).sort(), ...policy } });
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

    /**
     * `terms` (grants to partner deployments, federation module) records what else the grant says in the same transaction
     * and returns it for the audit event.
     */
    async grant(
      p: Principal,
      id: string,
      g: { organization: string; access: GrantAccess; expiresAt?: string | null },
      terms?: (tx: Queryable, grant: Grant) => Promise<Record<string, unknown>>,
      opts: { acceptedOnCreate?: boolean } = {},
    ) {
      return unique(() =>
        db.transaction(async (tx) => {
          const w = await access.owner(tx, p, id);
          if (g.organization === w.organization) throw new ConflictError('A watchlist cannot be granted to the organization that owns it.');
          if (w.kind === 'customers') throw new ConflictError("A customers watchlist holds the organization's own clients: it cannot be granted.");
          const acceptedAt = opts.acceptedOnCreate ? now() : null;
          const grant = await watchlists.insertGrant(tx, { id: randomUUID(), watchlistId: id, organization: g.organization, access: g.access, expiresAt: g.expiresAt ?? null, acceptedAt });
          const extra = terms ? { terms: await terms(tx, grant) } : {};
          await audit.append(tx, { type: 'watchlist.granted', actor: actorOf(p), payload: { watchlistId: id, grantId: grant.id, organization: grant.organization, access: grant.access, expiresAt: grant.expiresAt, state: grant.state, ...extra } });
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

    /** Grants made to the caller's organization (every state), with the watchlist each offers: what its admin may accept. */
    async received(p: Principal) {
      return watchlists.listReceived(db, p.organization);
    },

    /**
     * An admin of the receiving organization answers a grant. `accept`: a pending grant that is neither revoked nor expired
     * becomes active (access from the next request). `decline`: a pending or active grant ends for the receiver. A grant to
     * another organization is NOT_FOUND (the caller learns nothing of it); one already answered or ended is CONFLICT.
     */
    async answer(p: Principal, grantId: string, answer: 'accept' | 'decline') {
      return db.transaction(async (tx) => {
        const at = now();
        const g = await watchlists.getReceived(tx, p.organization, grantId);
        if (!g) throw new NotFoundError('Grant');
        const expired = g.expiresAt !== null && Date.parse(g.expiresAt) <= at.getTime();
        if (g.state === 'revoked' || g.state === 'declined') throw new ConflictError(`This grant was ${g.state}; it can no longer be answered.`);
        if (answer === 'accept' && g.state === 'active') throw new ConflictError('This grant was already accepted.');
        if (answer === 'accept' && expired) throw new ConflictError('This grant expired before it was accepted.');
        await watchlists.answerGrant(tx, g.id, answer, at);
        const type = answer === 'accept' ? 'watchlist.grant_accepted' : 'watchlist.grant_declined';
        await audit.append(tx, {
          type,
          actor: actorOf(p),
          payload: { watchlistId: g.watchlistId, grantId: g.id, owner: g.owner, organization: g.organization, access: g.access, stateBefore: g.state },
        }, at);
        return (await watchlists.getReceived(tx, p.organization, grantId))!;
      });
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

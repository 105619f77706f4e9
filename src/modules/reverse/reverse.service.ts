import type { Logger } from 'pino';
import type { Db, Queryable } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import type { FaceEngine } from '../../shared/face.types';
import { AppError, ConflictError, NotFoundError } from '../../shared/errors';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { EnrolmentHook } from '../gallery/gallery.model';
import type { NoticeSink, ReverseScreeningContext } from '../notice/notice.model';
import type { PurposeCheck } from '../purpose/purpose.model';
import type { StoredSearchResult } from '../search/search.model';
import type { WatchlistAccess } from '../watchlist/watchlist.model';
import type { ReverseRepo } from './reverse.repo';
import type { ReverseScreening, ScreeningTask, SkipReason, TemplateSearch } from './reverse.model';

export interface ReverseServiceDeps {
  db: Db;
  repo: ReverseRepo;
  audit: AuditLog;
  access: WatchlistAccess;
  purposes: PurposeCheck;
  searches: TemplateSearch;
  notices: NoticeSink;
  engine: () => FaceEngine;
  /** Candidates per reverse screening (the screening default of POST /v1/searches). */
  topK: number;
  logger: Logger;
  clock?: () => Date;
}

/** Owed screenings read per query while draining. */
const BATCH = 20;

/** A task's run came second to another instance's: its search was rolled back. */
class AlreadyRun extends Error {}

/**
 * Reverse screening on enrolment (docs/sharing.md "Reverse screening"). The receiving organization's admin enables it on a live
 * grant for one of its `customers` watchlists; from then on every template the owner enrols in the granted watchlist is queued
 * (in the enrolment's transaction) and searched, as a screening search of that organization over that customers watchlist
 * only. Each run is audited on both sides: the search's `search.run` (the receiving organization's key, its purpose and case)
 * and the owner's `reverse_screening.run` (the enrolling key; ids only, nothing of the customers). Hits leave notices to the
 * receiving organization (its customer) and, as every screening hit on a granted watchlist does, to the owner (its subject).
 */
export function createReverseService(d: ReverseServiceDeps) {
  const now = d.clock ?? (() => new Date());
  const { db, repo, audit } = d;

  const view = (c: ReverseScreening) => ({
    grantId: c.grantId,
    watchlistId: c.watchlistId,
    owner: c.owner,
    customersWatchlistId: c.customersWatchlistId,
    customersWatchlist: c.customersWatchlist,
    purpose: c.purpose,
    caseRef: c.caseRef,
    enabledBy: { keyId: c.keyId, holder: c.holder },
    enabledAt: c.enabledAt,
  });

  /** A grant made to the caller's organization (NOT_FOUND otherwise: nothing is learnt of others' grants). */
  const received = async (q: Queryable, p: Principal, grantId: string) => {
    const g = await repo.receivedGrant(q, p.organization, grantId, now());
    if (!g) throw new NotFoundError('Grant');
    return g;
  };

  /** Runs one owed screening, or records why it cannot run. Throws only what should leave it pending (5xx, database). */
  async function run(id: string): Promise<void> {
    const at = now();
    const t = await repo.load(db, id, at);
    if (!t || t.doneAt) return;
    const skip = async (reason: SkipReason) => {
      await repo.finish(db, id, { skipped: reason }, at);
      d.logger.info({ task: id, grantId: t.grantId, reason }, 'reverse screening skipped');
    };
    const engine = d.engine();
    if (!t.live) return skip('grant_not_live');
    if (!t.config) return skip('disabled');
    if (!t.template) return skip('template_removed');
    if (t.template.subjectWatchlistId !== t.watchlistId) return skip('subject_moved');
    if (t.template.modelId !== engine.model.id) return skip('model_changed');
    const { config, template } = t;
    const bank: Principal = { keyId: config.keyId, roles: ['admin'], organization: t.grantee, ...(config.holder ? { holder: config.holder } : {}) };
    try {
      await d.purposes.check(bank, config.purpose);
    } catch (e) {
      if (e instanceof AppError && e.status < 500) return skip('purpose_refused');
      throw e;
    }
    const reverse: ReverseScreeningContext = { grantId: t.grantId, probe: { organization: t.owner, watchlistId: t.watchlistId, subjectId: template.subjectId, faceId: t.faceId } };
    try {
      await d.searches.searchAnalyzed(
        bank,
        {
          // Not an uploaded photo: the probe is the enrolled template (the enrolment photo's hash names it; no size, no crop).
          sha256: template.imageSha256 ?? '',
          width: 0,
          height: 0,
          faces: [{ box: template.box, detectionScore: 1, quality: template.quality, embedding: template.embedding }],
        },
        { purpose: config.purpose, caseRef: config.caseRef, mode: 'screening', topK: d.topK, watchlists: [config.customersWatchlistId] },
        (tx, stored) => within(tx, t, stored, reverse),
        { result: { reverse }, audit: { reverse } },
      );
    } catch (e) {
      if (e instanceof AlreadyRun) return;
      if (e instanceof AppError && e.status < 500) return skip('refused');
      throw e;
    }
  }

  /** In the screening search's transaction, after its event: the task done (once), the notices, the owner's event. */
  async function within(tx: Queryable, t: ScreeningTask, stored: StoredSearchResult, reverse: ReverseScreeningContext) {
    const at = new Date(stored.createdAt);
    if (!(await repo.finish(tx, t.id, { searchId: stored.searchId }, at))) throw new AlreadyRun();
    const { config, template } = t as ScreeningTask & { config: NonNullable<ScreeningTask['config']>; template: NonNullable<ScreeningTask['template']> };
    // One notice per customer (its best score; a screening search keeps candidates at or above the screening threshold only).
    const best = new Map<string, { watchlistId: string; similarity: number; estimatedFalseMatchRate: number }>();
    for (const c of stored.faces.flatMap((f) => f.candidates)) {
      if ((best.get(c.subjectId)?.similarity ?? -1) < c.similarity) best.set(c.subjectId, { watchlistId: c.watchlistId, similarity: c.similarity, estimatedFalseMatchRate: c.estimatedFalseMatchRate });
    }
    const common = { at: stored.createdAt, searchId: stored.searchId, searchingOrganization: t.grantee, mode: 'screening', purpose: config.purpose, caseRef: config.caseRef, reverse };
    for (const [subjectId, h] of best) {
      await d.notices.record(tx, { ...common, organization: t.grantee, watchlistId: h.watchlistId, subjectId, similarity: h.similarity, estimatedFalseMatchRate: h.estimatedFalseMatchRate });
    }
    const top = [...best.values()].sort((a, b) => b.similarity - a.similarity)[0];
    if (top) {
      await d.notices.record(tx, { ...common, organization: t.owner, watchlistId: t.watchlistId, subjectId: template.subjectId, similarity: top.similarity, estimatedFalseMatchRate: top.estimatedFalseMatchRate });
    }
    // The owner's side: which template was screened for whom, under which grant; nothing of the customers or the outcome
    // (a hit reaches the owner as a notice, as for any screening hit on its watchlist).
    await audit.append(tx, {
      type: 'reverse_screening.run',
      actor: t.enrolledBy,
      subjectIds: [template.subjectId],
      searchId: stored.searchId,
      payload: { grantId: t.grantId, watchlistId: t.watchlistId, faceId: t.faceId, organization: t.grantee },
    }, at);
  }

  let current: Promise<void> | null = null;
  let again = false;
  /** Every owed screening, oldest first; one pass at a time (a call during a pass makes it look again before it ends). */
  async function pass(): Promise<void> {
    const tried: string[] = [];
    for (;;) {
      const ids = await repo.pending(db, BATCH, tried);
      if (!ids.length) return;
      for (const id of ids) {
        tried.push(id);
        try {
          await run(id);
        } catch (e) {
          // Left pending: the next pass (the next enrolment, or the interval) tries it again.
          d.logger.warn({ task: id, err: e instanceof Error ? e.message : String(e) }, 'reverse screening failed; it stays queued');
        }
      }
    }
  }

  function drain(): Promise<void> {
    if (current) {
      again = true;
      return current;
    }
    current = (async () => {
      try {
        do {
          again = false;
          await pass();
        } while (again);
      } catch (e) {
        d.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'reverse screening pass failed; retried on the next one');
      }
    })().finally(() => {
      current = null;
    });
    return current;
  }

  const hook: EnrolmentHook = {
    async enrolled(tx, e) {
      const owed = await repo.enqueue(tx, e);
      return owed.length ? { reverseScreenings: owed } : {};
    },
    committed() {
      void drain();
    },
  };

  return {
    hook,
    /** Runs every owed screening now (the engine must be up); resolves when none is left that can run. */
    drain,
    /** The pass in progress, if any (shutdown waits for it: its search must not lose its pool mid-way). */
    settled: (): Promise<void> => current ?? Promise.resolve(),

    /**
     * PUT /v1/grants/:id/reverse-screening (an admin of the receiving organization): the grant must be live, the watchlist one
     * of the organization's own of kind `customers`, and the purpose one the organization's policy accepts. Replaces an earlier
     * setting. Audited with the purpose and case reference as HMACs (their text beside the event, redactable).
     */
    async enable(p: Principal, grantId: string, b: { customersWatchlist: string; purpose: string; caseRef: string }) {
      await d.purposes.check(p, b.purpose);
      return db.transaction(async (tx) => {
        const at = now();
        const g = await received(tx, p, grantId);
        if (!g.live) throw new ConflictError('Reverse screening needs a live grant: accept it first (a revoked, declined or expired grant screens nothing).');
        const customers = await d.access.ownedByRef(tx, p, b.customersWatchlist);
        if (customers.kind !== 'customers') throw new ConflictError(`Watchlist ${customers.name} is not of kind customers: only a customers watchlist is screened in reverse.`);
        await repo.upsert(tx, { grantId, customersWatchlistId: customers.id, purpose: b.purpose, caseRef: b.caseRef, keyId: p.keyId, holder: p.holder ?? null, at });
        await audit.append(tx, {
          type: 'reverse_screening.enabled',
          actor: actorOf(p),
          payload: { grantId, watchlistId: g.watchlistId, owner: g.owner, customersWatchlistId: customers.id },
          text: { purpose: b.purpose, caseRef: b.caseRef },
        }, at);
        return view((await repo.get(tx, grantId))!);
      });
    },

    /** DELETE: screenings queued and not yet run are skipped (`disabled`). */
    async disable(p: Principal, grantId: string) {
      return db.transaction(async (tx) => {
        const g = await received(tx, p, grantId);
        const before = await repo.get(tx, grantId);
        if (!before || !(await repo.remove(tx, grantId))) throw new NotFoundError('Reverse screening');
        await audit.append(tx, { type: 'reverse_screening.disabled', actor: actorOf(p), payload: { grantId, watchlistId: g.watchlistId, owner: g.owner, customersWatchlistId: before.customersWatchlistId } }, now());
        return view(before);
      });
    },

    /** GET: the setting of a grant made to the caller's organization (NOT_FOUND when none is set). */
    async get(p: Principal, grantId: string) {
      await received(db, p, grantId);
      const c = await repo.get(db, grantId);
      if (!c) throw new NotFoundError('Reverse screening');
      return view(c);
    },
  };
}

export type ReverseService = ReturnType<typeof createReverseService>;

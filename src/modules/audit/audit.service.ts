import type { AnchorRepo } from './anchor.repo';
import type { AuditRepo } from './audit.repo';
import { auditSeqRange } from './audit-window.repo';
import { readStats, type ReadStats } from './read-stats.repo';
import type { Db, Queryable } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import type { AuditActor, AuditEvent, AuditEventInContext, AuditViewFilter } from './audit.model';
import { ChainAudit, type ChainAuditResult, type ChainExpectation } from './chain-audit.model';
import type { CheckpointService } from './checkpoint.service';
import { AppError, ForbiddenError } from '../../shared/errors';

export interface EventQuery {
  from?: Date;
  to?: Date;
  /** Key id of the actor. */
  actor?: string;
  /** Holder of the acting key (any of their keys). */
  holder?: string;
  /** The actor's organization (auditors of `*`; others read their own organization's events only). */
  organization?: string;
  caseRef?: string;
  type?: string;
  subjectId?: string;
  searchId?: string;
  order?: 'asc' | 'desc';
  /** The seq of the last event of the previous page. */
  cursor?: number;
  limit: number;
}

const PAGE = 1000;
/** Anchors are written by hand or by cron (a few a day): all of them are checked on every verification. */
const MAX_ANCHORS = 1_000_000;

export type VerifyResult = ChainAuditResult & {
  /** Checkpoint files read from AUDIT_CHECKPOINT_DIR, and those that are not validly signed checkpoints of this deployment. */
  checkpoints: { read: number; invalid: Array<{ source: string; reason: string }> };
  ms: number;
};

/**
 * Oversight over the audit chain. Tenant rule: an auditor whose key organization is not `*` reads only events whose actor
 * belongs to its organization; verifying, exporting and anchoring the whole chain is for `*` auditors (a filtered chain
 * cannot be verified, so it is not offered).
 */
export function createAuditService(d: {
  db: Db;
  audit: AuditRepo;
  anchors: AnchorRepo;
  clock?: () => number;
  /**
   * Where the auditor's reads go (a read replica within its lag bound, else the primary): the chain is append-only and read by
   * seq, so a replica serves a consistent prefix of it. Anchoring verifies and appends on the primary.
   */
  reads?: () => Queryable;
  /** External signed checkpoints the chain must extend (AUDIT_CHECKPOINT_DIR), when configured. */
  checkpoints?: CheckpointService;
}) {
  const { db, audit, anchors } = d;
  const reads = d.reads ?? (() => db);
  const ms = d.clock ?? (() => performance.now());

  const requireWholeChain = (p: Principal) => {
    if (p.organization !== '*') {
      throw new ForbiddenError('Verifying, exporting and anchoring the audit chain needs an auditor key of organization *.');
    }
  };

  /**
   * Recomputes the chain from genesis up to the head read first, and checks with it (ChainAudit): every stored anchor row
   * (a row whose seq is missing or whose hash differs fails; so does an audit.anchored event whose row was deleted), every
   * audit.anchored event's verified head, and every external expectation (`expect=seq:hash` from the caller, and the signed
   * checkpoints in AUDIT_CHECKPOINT_DIR): the chain must still hold that hash at that seq, and reach that seq (a truncated
   * tail fails). A checkpoint file without this deployment's signature fails the verification too.
   */
  async function verifyChain(q: Queryable, expect: ChainExpectation[] = []): Promise<VerifyResult> {
    const t0 = ms();
    // Head, then the anchored events' targets, then the chain up to that head, then the anchor rows and the head again, on one
    // reader. A row beyond the first head belongs to an anchor appended during the pass and is left out, unless it lies
    // beyond the second head too: no event holds its seq any more, so the tail it anchored was cut off.
    const head = await audit.head(q);
    const targets = await audit.anchoredTargets(q);
    const external = d.checkpoints?.external() ?? { valid: [], invalid: [] };
    const expectations = [...expect, ...external.valid.map((c) => ({ seq: c.seq, hash: c.hash, source: `checkpoint ${c.at}` }))];
    const check = new ChainAudit({ expectations, anchoredTargets: targets });
    for await (const e of audit.iterate(q, { pageSize: PAGE })) {
      if (head && e.seq > head.seq) break;
      check.push(e);
    }
    const allRows = await anchors.list(q, MAX_ANCHORS);
    const later = (await audit.head(q))?.seq ?? 0;
    const rows = new Map(allRows.filter((a) => a.seq <= (head?.seq ?? 0) || a.seq > later).map((a) => [a.seq, a.hash] as const));
    const r = check.result(rows);
    const invalid = external.invalid[0];
    const verdict = r.ok && invalid ? { ...r, ok: false, reason: `checkpoint file ${invalid.source} has ${invalid.reason}` } : r;
    return { ...verdict, checkpoints: { read: external.valid.length + external.invalid.length, invalid: external.invalid }, ms: Math.round(ms() - t0) };
  }

  /**
   * The auditor's filter for a query, or null when it can match nothing: an auditor of an organization other than `*` reads
   * only events whose actor belongs to it, so naming another organization selects nothing.
   */
  const viewFilter = (p: Principal, q: Omit<EventQuery, 'limit' | 'cursor'>): Omit<AuditViewFilter, 'limit' | 'cursor'> | null => {
    if (p.organization !== '*' && q.organization !== undefined && q.organization !== p.organization) return null;
    return {
      from: q.from,
      to: q.to,
      keyId: q.actor,
      holder: q.holder,
      organization: p.organization === '*' ? q.organization : p.organization,
      caseRef: q.caseRef,
      type: q.type,
      subjectId: q.subjectId,
      searchId: q.searchId,
      order: q.order ?? 'asc',
    };
  };

  return {
    /**
     * Counts of `read.*` events (reads of biometric data and subject records) in [from, to): per kind, reader organization and
     * holder, and per data owner. An auditor of another organization than `*` gets its own readers and the reads of its data.
     */
    async reads(p: Principal, w: { from?: Date; to?: Date }): Promise<ReadStats & { from: string | null; to: string | null }> {
      const stats = await readStats(reads(), { ...w, organization: p.organization === '*' ? null : p.organization });
      return { from: w.from?.toISOString() ?? null, to: w.to?.toISOString() ?? null, ...stats };
    },

    /** A page of events with their context (holder, purpose, case), in seq order or newest first. */
    async events(p: Principal, q: EventQuery): Promise<{ items: AuditEventInContext[]; nextCursor: string | null }> {
      const f = viewFilter(p, q);
      if (!f) return { items: [], nextCursor: null };
      const rows = await audit.view(reads(), { ...f, cursor: q.cursor, limit: q.limit + 1 });
      const items = rows.slice(0, q.limit);
      return { items, nextCursor: rows.length > q.limit ? String(items[items.length - 1]!.seq) : null };
    },

    /**
     * Every event a filter selects, in seq order, with its context: what the auditor's timeline shows, for download. Same
     * visibility as `events`. Not a chain segment (events are left out): `export` gives the verifiable one.
     */
    async *exportEvents(p: Principal, q: Omit<EventQuery, 'limit' | 'cursor' | 'order'>): AsyncGenerator<AuditEventInContext> {
      const f = viewFilter(p, q);
      if (!f) return;
      const db = reads();
      let cursor: number | undefined;
      for (;;) {
        const page = await audit.view(db, { ...f, order: 'asc', cursor, limit: PAGE });
        yield* page;
        if (page.length < PAGE) return;
        cursor = page[page.length - 1]!.seq;
      }
    },

    /** Recomputes every hash from genesis, streaming a page at a time. */
    async verify(p: Principal, expect: ChainExpectation[] = []) {
      requireWholeChain(p);
      return verifyChain(reads(), expect);
    },

    /**
     * The events of [from, to) as a contiguous seq range, in seq order (see auditSeqRange for why by seq). A partial export
     * verifies offline from its first event's prevHash; only a full export (no from) ties back to genesis.
     */
    async *export(p: Principal, w: { from?: Date; to?: Date }): AsyncGenerator<AuditEvent> {
      requireWholeChain(p);
      const q = reads();
      const range = await auditSeqRange(q, w);
      if (!range) return;
      // A full export starts at seq 1 even if the first event's time were out of order.
      let after = w.from ? range.first - 1 : 0;
      const last = w.to ? range.last : Number.MAX_SAFE_INTEGER;
      for (;;) {
        const page = await audit.list(q, { afterSeq: after, limit: PAGE });
        for (const e of page) {
          if (e.seq > last) return;
          yield e;
        }
        if (page.length < PAGE) return;
        after = page[page.length - 1]!.seq;
      }
    },

    /**
     * Verifies the chain, then appends an `audit.anchored` event recording the verified head, and stores that new event's
     * seq/hash as the anchor. Whoever keeps {seq, hash} elsewhere can later prove that nothing up to seq changed.
     */
    async anchor(actor: AuditActor): Promise<{ seq: number; hash: string; at: string; verified: VerifyResult }> {
      const verified = await verifyChain(db);
      if (!verified.ok) {
        throw new AppError('AUDIT_CHAIN_BROKEN', 409, `The audit chain does not verify (first bad seq ${verified.firstBadSeq}); not anchoring.`, verified);
      }
      return db.transaction(async (tx) => {
        const ev = await audit.append(tx, {
          type: 'audit.anchored',
          actor,
          payload: { verifiedSeq: verified.headSeq, verifiedHash: verified.headHash, verifiedEvents: verified.events },
        });
        await anchors.insert(tx, { seq: ev.seq, hash: ev.hash, createdAt: ev.at });
        return { seq: ev.seq, hash: ev.hash, at: ev.at, verified };
      });
    },

    async anchors(p: Principal, limit: number) {
      requireWholeChain(p);
      return anchors.list(reads(), limit);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

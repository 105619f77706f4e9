import type { AnchorRepo } from '../infra/db/anchor.repo';
import type { AuditRepo } from '../infra/db/audit.repo';
import { auditSeqRange } from '../infra/db/audit-window.repo';
import type { Db, Queryable } from '../infra/db/db';
import type { Principal } from './api-key';
import { ChainVerifier, type AuditActor, type AuditEvent, type ChainVerification } from './audit-chain';
import { AppError, ForbiddenError } from './errors';

export interface EventQuery {
  from?: Date;
  to?: Date;
  /** Key id of the actor. */
  actor?: string;
  type?: string;
  subjectId?: string;
  searchId?: string;
  /** The seq of the last event of the previous page. */
  cursor?: number;
  limit: number;
}

const PAGE = 1000;
/** Anchors are written by hand or by cron (a few a day): all of them are checked on every verification. */
const MAX_ANCHORS = 1_000_000;

export type VerifyResult = ChainVerification & {
  anchors: { checked: number; mismatched: Array<{ seq: number; anchoredHash: string; chainHash: string | null }> };
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
   * Recomputes the chain from genesis and checks every stored anchor against it: an anchor whose seq is missing from the chain
   * or whose hash differs from the event's at that seq makes the verification fail (firstBadSeq is the lowest such seq unless
   * the chain itself broke earlier).
   */
  async function verifyChain(q: Queryable): Promise<VerifyResult> {
    const t0 = ms();
    // Anchors first, then the chain, on one reader: every anchor read is then covered by the chain read after it.
    const anchored = new Map((await anchors.list(q, MAX_ANCHORS)).map((a) => [a.seq, a.hash]));
    const seen = new Map<number, string>();
    const v = new ChainVerifier();
    for await (const e of audit.iterate(q, { pageSize: PAGE })) {
      v.push(e);
      if (anchored.has(e.seq)) seen.set(e.seq, e.hash);
    }
    const mismatched = [...anchored]
      .filter(([seq, hash]) => seen.get(seq) !== hash)
      .map(([seq, hash]) => ({ seq, anchoredHash: hash, chainHash: seen.get(seq) ?? null }))
      .sort((a, b) => a.seq - b.seq);
    const chain = v.result();
    const firstAnchor = mismatched[0];
    const result: ChainVerification =
      chain.ok && firstAnchor
        ? { ...chain, ok: false, firstBadSeq: firstAnchor.seq, reason: `stored anchor at seq ${firstAnchor.seq} does not match the chain` }
        : chain;
    return { ...result, anchors: { checked: anchored.size, mismatched }, ms: Math.round(ms() - t0) };
  }

  return {
    async events(p: Principal, q: EventQuery): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
      const rows = await audit.list(reads(), {
        from: q.from,
        to: q.to,
        keyId: q.actor,
        organization: p.organization === '*' ? undefined : p.organization,
        type: q.type,
        subjectId: q.subjectId,
        searchId: q.searchId,
        afterSeq: q.cursor ?? 0,
        limit: q.limit + 1,
      });
      const items = rows.slice(0, q.limit);
      return { items, nextCursor: rows.length > q.limit ? String(items[items.length - 1]!.seq) : null };
    },

    /** Recomputes every hash from genesis, streaming a page at a time. */
    async verify(p: Principal) {
      requireWholeChain(p);
      return verifyChain(reads());
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

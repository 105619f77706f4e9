import { ChainVerifier, type AuditEvent, type ChainVerification } from './audit.model';

/**
 * A seq/hash the chain must still hold: an external checkpoint, an anchor kept elsewhere, or `expect=seq:hash` from the
 * auditor. `source` says where it came from (a checkpoint file name, `expect`, …) so a failure can be traced.
 */
export interface ChainExpectation {
  seq: number;
  hash: string;
  source: string;
}

export interface ChainAuditResult extends ChainVerification {
  /** Stored anchor rows (audit_anchor), each checked against the event at its seq; and audit.anchored events without a row. */
  anchors: { checked: number; mismatched: Array<{ seq: number; anchoredHash: string | null; chainHash: string | null }> };
  /** Every `audit.anchored` event: the head it says it verified must be the chain's event at that seq. */
  anchoredEvents: { checked: number; mismatched: Array<{ seq: number; verifiedSeq: number; verifiedHash: string; chainHash: string | null }> };
  /** External expectations: the chain must extend each (hold that hash at that seq). A seq beyond the head is a truncated tail. */
  expected: { checked: number; failed: Array<{ seq: number; hash: string; chainHash: string | null; source: string }> };
}

/**
 * One pass over the chain in seq order that checks, besides each event's hash and link (ChainVerifier): the chain's own
 * `audit.anchored` events, external expectations and (at the end) the stored anchor rows. The seqs whose hashes are needed must be known
 * up front (`anchoredTargets`: the verifiedSeq of every audit.anchored event, read before the pass), so the pass keeps only
 * those hashes, not the whole chain's.
 */
export class ChainAudit {
  private readonly v: ChainVerifier;
  private readonly wanted: Set<number>;
  private readonly targets: Set<number>;
  private readonly hashAt = new Map<number, string>();
  private readonly anchoredSeen: Array<{ seq: number; verifiedSeq: number; verifiedHash: string }> = [];
  private readonly anchoredEventSeqs = new Map<number, string>();

  constructor(
    private readonly o: {
      start?: { seq: number; prevHash: string };
      expectations?: ChainExpectation[];
      anchoredTargets?: Iterable<number>;
    } = {},
  ) {
    this.v = new ChainVerifier(o.start);
    this.targets = new Set(o.anchoredTargets ?? []);
    this.wanted = new Set<number>([...this.targets, ...(o.expectations ?? []).map((x) => x.seq)]);
  }

  push(e: AuditEvent): void {
    this.v.push(e);
    if (this.wanted.has(e.seq)) this.hashAt.set(e.seq, e.hash);
    if (e.type === 'audit.anchored') {
      this.anchoredEventSeqs.set(e.seq, e.hash);
      const vs = Number(e.payload.verifiedSeq);
      const vh = String(e.payload.verifiedHash ?? '');
      if (Number.isSafeInteger(vs) && vs > 0) this.anchoredSeen.push({ seq: e.seq, verifiedSeq: vs, verifiedHash: vh });
    }
  }

  /**
   * `anchorRows`: the audit_anchor rows (seq → hash), read after the pass. Each row was written with an audit.anchored event
   * at its seq, so it is checked against that event; a row at a seq the pass holds no anchored event for fails.
   */
  result(rows?: Map<number, string>): ChainAuditResult {
    const chain = this.v.result();
    const at = (seq: number) => this.hashAt.get(seq) ?? null;
    const anchorMismatch: ChainAuditResult['anchors']['mismatched'] = [];
    for (const [seq, hash] of rows ?? []) {
      const chainHash = this.anchoredEventSeqs.get(seq) ?? null;
      if (chainHash !== hash) anchorMismatch.push({ seq, anchoredHash: hash, chainHash });
    }
    // An audit.anchored event wrote its row in the same transaction: a missing row was deleted.
    if (rows) for (const [seq, hash] of this.anchoredEventSeqs) if (!rows.has(seq)) anchorMismatch.push({ seq, anchoredHash: null, chainHash: hash });
    anchorMismatch.sort((a, b) => a.seq - b.seq);
    // Judged: anchored events whose target was read up front (one appended during the pass is not), within the range passed
    // (a partial export starting later cannot judge an anchor of an earlier seq).
    const judged = this.anchoredSeen.filter((a) => this.targets.has(a.verifiedSeq) && a.verifiedSeq >= (this.o.start?.seq ?? 1));
    const anchoredMismatch = judged.filter((a) => at(a.verifiedSeq) !== a.verifiedHash).map((a) => ({ ...a, chainHash: at(a.verifiedSeq) }));
    const expectations = this.o.expectations ?? [];
    const failed = expectations.filter((x) => at(x.seq) !== x.hash).map((x) => ({ seq: x.seq, hash: x.hash, chainHash: at(x.seq), source: x.source }));
    failed.sort((a, b) => a.seq - b.seq);

    const problems: Array<{ seq: number; reason: string }> = [];
    const a0 = anchorMismatch[0];
    if (a0) problems.push({ seq: a0.seq, reason: a0.anchoredHash === null ? `the anchor row of the audit.anchored event at seq ${a0.seq} is missing` : `stored anchor at seq ${a0.seq} does not match the chain` });
    const e0 = anchoredMismatch[0];
    if (e0) problems.push({ seq: e0.seq, reason: `the audit.anchored event at seq ${e0.seq} verified seq ${e0.verifiedSeq} with a hash the chain no longer has there` });
    const x0 = failed[0];
    if (x0) {
      problems.push({
        seq: x0.seq,
        reason:
          x0.chainHash === null && x0.seq > chain.headSeq
            ? `the chain ends at seq ${chain.headSeq}, before the expected seq ${x0.seq} (${x0.source}): its tail is missing`
            : `the chain does not extend the expected head at seq ${x0.seq} (${x0.source})`,
      });
    }
    problems.sort((a, b) => a.seq - b.seq);
    const first = problems[0];
    const verdict: ChainVerification = chain.ok && first ? { ...chain, ok: false, firstBadSeq: first.seq, reason: first.reason } : chain;
    return {
      ...verdict,
      anchors: { checked: rows?.size ?? 0, mismatched: anchorMismatch },
      anchoredEvents: { checked: judged.length, mismatched: anchoredMismatch },
      expected: { checked: expectations.length, failed },
    };
  }
}

/** `seq:hash` (as in `expect=`), or null when malformed. */
export function parseExpectation(text: string, source = 'expect'): ChainExpectation | null {
  const m = text.trim().match(/^(\d{1,15}):([0-9a-f]{64})$/);
  return m ? { seq: Number(m[1]), hash: m[2]!, source } : null;
}

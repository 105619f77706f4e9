import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditEventType =
  | 'search.run'
  | 'verify.run'
  | 'review.recorded'
  | 'subject.created'
  | 'subject.updated'
  | 'subject.deleted'
  | 'face.enrolled'
  | 'face.reembedded'
  | 'face.deleted'
  | 'key.created'
  | 'key.revoked'
  | 'key.bootstrapped'
  | 'audit.anchored'
  | 'watchlist.created'
  | 'watchlist.updated'
  | 'watchlist.deleted'
  | 'watchlist.granted'
  | 'watchlist.grant_revoked'
  | 'webhook.set'
  | 'webhook.deleted'

  | 'probe_faces.purged';

export interface AuditActor {
  keyId: string | null;
  organization: string;
  roles: string[];
}

/** What a caller asks to record. Payloads never hold raw biometric data (probe SHA-256, ids, scores, parameters only). */
export interface AuditEventInput {
  type: AuditEventType;
  actor: AuditActor;
  subjectIds?: string[];
  searchId?: string | null;
  payload: Record<string, unknown>;
}

export interface AuditEvent {
  seq: number;
  /** ISO-8601 with milliseconds, UTC. */
  at: string;
  actor: AuditActor;
  type: AuditEventType;
  subjectIds: string[];
  searchId: string | null;
  payload: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** hash = SHA-256(prevHash ‖ canonical JSON of the event without its hashes). */
export function hashEvent(e: Omit<AuditEvent, 'hash'>): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    type: e.type,
    subjectIds: e.subjectIds,
    searchId: e.searchId,
    payload: e.payload,
  });
  return createHash('sha256').update(e.prevHash).update(body).digest('hex');
}

export function sealEvent(input: AuditEventInput, seq: number, prevHash: string, at: Date): AuditEvent {
  const unsealed = {
    seq,
    at: at.toISOString(),
    actor: input.actor,
    type: input.type,
    subjectIds: input.subjectIds ?? [],
    searchId: input.searchId ?? null,
    payload: input.payload,
    prevHash,
  };
  return { ...unsealed, hash: hashEvent(unsealed) };
}

export interface ChainVerification {
  ok: boolean;
  events: number;
  headHash: string;
  headSeq: number;
  firstBadSeq?: number;
  reason?: string;
}

/**
 * Streaming verifier: feed events in seq order. Detects edits (hash mismatch), deletions and reordering (seq gap or
 * prevHash not equal to the previous event's hash).
 */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private expectSeq: number;
  private count = 0;
  private bad?: { seq: number; reason: string };

  constructor(start?: { seq: number; prevHash: string }) {
    this.expectSeq = start ? start.seq : 1;
    if (start) this.prev = start.prevHash;
  }

  push(e: AuditEvent): void {
    this.count++;
    if (this.bad) return;
    if (e.seq !== this.expectSeq) this.bad = { seq: e.seq, reason: `expected seq ${this.expectSeq}, found ${e.seq}` };
    else if (e.prevHash !== this.prev) this.bad = { seq: e.seq, reason: 'prevHash does not match the previous event' };
    else if (hashEvent(e) !== e.hash) this.bad = { seq: e.seq, reason: 'event content does not match its hash' };
    this.prev = e.hash;
    this.expectSeq = e.seq + 1;
  }

  result(): ChainVerification {
    return {
      ok: !this.bad,
      events: this.count,
      headHash: this.prev,
      headSeq: this.expectSeq - 1,
      ...(this.bad ? { firstBadSeq: this.bad.seq, reason: this.bad.reason } : {}),
    };
  }
}

import { createHash, createHmac } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json';
import type { Queryable } from '../../shared/db';
import type { Principal } from '../../shared/principal';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditEventType =
  | 'search.run'
  | 'verify.run'
  /** A search or verification that received a photo and failed (NO_FACE, UNKNOWN_WATCHLIST, …): no result, no template kept. */
  | 'search.failed'
  | 'verify.failed'
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
  /** The receiving organization's admin accepted a pending grant (it gives access from then on) or declined one. */
  | 'watchlist.grant_accepted'
  | 'watchlist.grant_declined'
  | 'reverse_screening.enabled'
  | 'reverse_screening.disabled'
  | 'reverse_screening.run'
  | 'webhook.set'
  | 'webhook.deleted'
  | 'webhook.secret_rotated'
  | 'webhook.tested'
  | 'purpose_policy.set'
  | 'purpose_policy.cleared'
  | 'federation.partner_registered'
  | 'federation.partner_updated'
  | 'federation.partner_key_added'
  | 'federation.partner_removed'
  | 'federation.requested'
  | 'federation.completed'
  | 'federation.answered'
  | 'federation.refused'
  | 'probe_faces.purged'
  /** A batch screening job submitted (its items are audited one by one as searches) or cancelled. */
  | 'screening_job.created'
  | 'screening_job.cancelled'
  /**
   * Reads of biometric data and subject records (one event per request, ids only): subject listings and records, enrolled
   * images, stored searches, probe-face and candidate crops of a search, case files. GET /v1/audit/reads counts them.
   */
  | 'read.subjects'
  | 'read.subject'
  | 'read.face_image'
  | 'read.search'
  | 'read.probe_face'
  | 'read.candidate_face'
  | 'read.case_file';

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
  /**
   * Free text people typed that the event is about (a search's purpose and case reference, a review's rationale). It is not
   * put in the chain, which cannot be erased: the payload gets `<field>Hmac` (textHmac) and the text itself is kept, with the
   * salt, in the redactable `audit_text` row of the event (migration 0130), which erasure may redact.
   */
  text?: AuditText;
}

export interface AuditText {
  purpose?: string;
  caseRef?: string;
  rationale?: string;
}

/**
 * What the chain stores of a free-text field: HMAC-SHA-256 keyed with the event's own random 32-byte salt (64 hex, kept in
 * audit_text beside the text), over the UTF-8 text, as 64 hex. With the row, anyone can check that the text is what the
 * chain committed to (`printf '%s' "$TEXT" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$SALT`); once erasure redacts the
 * row it also deletes the salt, and the hash no longer lets anyone confirm a guessed text (a plain SHA-256 of a short purpose
 * naming a person would).
 */
export const textHmac = (saltHex: string, text: string): string => createHmac('sha256', Buffer.from(saltHex, 'hex')).update(text, 'utf8').digest('hex');

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

/** The actor of an event: the key that acted, its organization and roles (never a token). */
export const actorOf = (p: Principal): AuditActor => ({ keyId: p.keyId, organization: p.organization, roles: p.roles });

export interface AuditFilter {
  from?: Date;
  to?: Date;
  keyId?: string;
  organization?: string;
  type?: string;
  subjectId?: string;
  searchId?: string;
  afterSeq?: number;
  limit: number;
}

/**
 * What the auditor's timeline shows beside an event (GET /v1/audit/events `context`): who held the acting key, and the purpose
 * and case reference of the search the event is about (its own payload's, else its search's). Read when listed, not part of
 * the event: the hash covers the event only.
 */
export interface AuditEventContext {
  holder: string | null;
  purpose: string | null;
  caseRef: string | null;
}

export type AuditEventInContext = AuditEvent & { context: AuditEventContext };

/** The auditor's filters: AuditFilter's, the key holder and the case reference, in either order, a page at a time. */
export interface AuditViewFilter extends Omit<AuditFilter, 'afterSeq'> {
  holder?: string;
  caseRef?: string;
  order: 'asc' | 'desc';
  /** The seq of the last event of the previous page (the next page continues past it in `order`). */
  cursor?: number;
}

export interface AuditAnchor {
  seq: number;
  hash: string;
  createdAt: string;
}

/**
 * The chain as every other module writes to it: one event appended inside the caller's transaction (the action and its record
 * commit or roll back together), the append lock taken early when a transaction's reads must not change before its event,
 * a snapshot's chain position (a search's gallery position, read without the lock), and the events of one search read back
 * (the case file). Implemented by audit.repo.ts.
 */
export interface AuditLog {
  lock(tx: Queryable): Promise<void>;
  /** Opens the caller's transaction as a read-only REPEATABLE READ snapshot; returns the chain head that snapshot holds. */
  snapshotHead(tx: Queryable): Promise<{ seq: number; hash: string }>;
  append(tx: Queryable, input: AuditEventInput, now?: Date): Promise<AuditEvent>;
  list(db: Queryable, f: AuditFilter): Promise<AuditEvent[]>;
}

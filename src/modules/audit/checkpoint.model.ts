import { createHash, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json';
import { ed25519KeyId, verifyEd25519 } from '../../platform/crypto/deployment-key';

/**
 * Signed checkpoints of the audit chain head, kept where the database owner has no hand (a directory, a webhook receiver,
 * partner deployments that countersign). Whoever holds one can later prove the chain still extends it: the event at `seq`
 * must still have `hash`. Recomputing hashes after an edit cannot reproduce it, and the database owner cannot sign a new
 * one: the deployment's Ed25519 key is a file outside the database.
 *
 * Format v1 (docs/OVERSIGHT.md "Checkpoints"): a JSON object
 *   { "type": "facematch.audit.checkpoint", "v": 1, "keyId", "seq", "hash", "at", "sig" }
 * where `sig` is base64url(Ed25519(canonical JSON of the object without `sig`)), canonical JSON as in the audit chain (keys
 * sorted, no whitespace), `keyId` the deployment key's id (published at /.well-known/facematch/keys), `seq`/`hash` the
 * chain head and `at` the signing time (ISO 8601, UTC).
 *
 * A countersignature v1, a partner deployment's answer to a checkpoint it was sent:
 *   { "type": "facematch.audit.countersignature", "v": 1, "checkpoint": "<hex SHA-256 of the checkpoint's canonical JSON,
 *     sig included>", "keyId": "<the partner's key id>", "at", "sig" }
 * with `sig` likewise over the countersignature without `sig`. The partner keeps the checkpoints it countersigned and refuses
 * one that does not extend the last it saw from the same deployment (lower seq, or the same seq with another hash).
 */
export const CHECKPOINT_TYPE = 'facematch.audit.checkpoint' as const;
export const COUNTERSIGNATURE_TYPE = 'facematch.audit.countersignature' as const;

export interface Signer {
  readonly keyId: string;
  sign(data: Buffer | string): Buffer;
}

export interface SignedCheckpoint {
  type: typeof CHECKPOINT_TYPE;
  v: 1;
  keyId: string;
  seq: number;
  hash: string;
  at: string;
  sig: string;
}

export interface Countersignature {
  type: typeof COUNTERSIGNATURE_TYPE;
  v: 1;
  checkpoint: string;
  keyId: string;
  at: string;
  sig: string;
}

/** A checkpoint as a sink stores it: the signed checkpoint and the countersignatures it gathered (not covered by `sig`). */
export interface StoredCheckpoint {
  checkpoint: SignedCheckpoint;
  countersignatures: Countersignature[];
}

const unsigned = <T extends { sig: string }>({ sig: _sig, ...rest }: T) => canonicalJson(rest);

export function signCheckpoint(key: Signer, head: { seq: number; hash: string }, at: Date): SignedCheckpoint {
  const body = { type: CHECKPOINT_TYPE, v: 1 as const, keyId: key.keyId, seq: head.seq, hash: head.hash, at: at.toISOString() };
  return { ...body, sig: key.sign(canonicalJson(body)).toString('base64url') };
}

/** The digest a countersignature names: SHA-256 of the whole checkpoint's canonical JSON, signature included. */
export const checkpointDigest = (c: SignedCheckpoint): string => createHash('sha256').update(canonicalJson(c)).digest('hex');

/** What a partner deployment answers (federation implements the route; the format is fixed here). */
export function countersign(key: Signer, c: SignedCheckpoint, at: Date): Countersignature {
  const body = { type: COUNTERSIGNATURE_TYPE, v: 1 as const, checkpoint: checkpointDigest(c), keyId: key.keyId, at: at.toISOString() };
  return { ...body, sig: key.sign(canonicalJson(body)).toString('base64url') };
}

/** The checkpoint's fields have the v1 shape (types only; the signature is checked by verifyCheckpoint). */
export function parseCheckpoint(x: unknown): SignedCheckpoint | null {
  const c = x as Partial<SignedCheckpoint> | null;
  if (!c || typeof c !== 'object' || c.type !== CHECKPOINT_TYPE || c.v !== 1) return null;
  if (typeof c.keyId !== 'string' || !Number.isSafeInteger(c.seq) || (c.seq as number) < 1) return null;
  if (typeof c.hash !== 'string' || !/^[0-9a-f]{64}$/.test(c.hash) || typeof c.at !== 'string' || typeof c.sig !== 'string') return null;
  return { type: c.type, v: 1, keyId: c.keyId, seq: c.seq as number, hash: c.hash, at: c.at, sig: c.sig };
}

export function parseCountersignature(x: unknown): Countersignature | null {
  const c = x as Partial<Countersignature> | null;
  if (!c || typeof c !== 'object' || c.type !== COUNTERSIGNATURE_TYPE || c.v !== 1) return null;
  if (typeof c.checkpoint !== 'string' || typeof c.keyId !== 'string' || typeof c.at !== 'string' || typeof c.sig !== 'string') return null;
  return { type: c.type, v: 1, checkpoint: c.checkpoint, keyId: c.keyId, at: c.at, sig: c.sig };
}

/** Signed by `publicKey` (and naming that key's id). */
export function verifyCheckpoint(c: SignedCheckpoint, publicKey: KeyObject): boolean {
  return c.keyId === ed25519KeyId(publicKey) && verifyEd25519(publicKey, unsigned(c), Buffer.from(c.sig, 'base64url'));
}

/** A countersignature by `partnerKey` over exactly `c`. */
export function verifyCountersignature(cs: Countersignature, c: SignedCheckpoint, partnerKey: KeyObject): boolean {
  return cs.checkpoint === checkpointDigest(c) && cs.keyId === ed25519KeyId(partnerKey) && verifyEd25519(partnerKey, unsigned(cs), Buffer.from(cs.sig, 'base64url'));
}

/**
 * Whether `next` may follow `prev` from the same deployment: a later seq, or the same seq with the same hash. A partner uses
 * it before countersigning; the checkpoint writer uses it before signing.
 */
export function extendsCheckpoint(prev: { seq: number; hash: string } | null, next: { seq: number; hash: string }): boolean {
  if (!prev) return true;
  return next.seq > prev.seq || (next.seq === prev.seq && next.hash === prev.hash);
}

/**
 * Offline verification of an audit export (NDJSON from GET /v1/audit/export): the chain's hashes and links, its anchored
 * heads, expected heads and signed checkpoints. Used by scripts/verify-audit.ts (docs/OVERSIGHT.md) and the audit tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH, type AuditEvent } from '../../src/modules/audit/audit.model';
import { ChainAudit, parseExpectation, type ChainAuditResult, type ChainExpectation } from '../../src/modules/audit/chain-audit.model';
import { verifyCheckpoint } from '../../src/modules/audit/checkpoint.model';
import { CHECKPOINT_FILE, parseStored } from '../../src/modules/audit/checkpoint-store';
import { parseEd25519PublicKey } from '../../src/platform/crypto/deployment-key';

export interface ExportVerification extends Omit<ChainAuditResult, 'anchors'> {
  /** Where verification started: seq 1 from genesis, or the first event's seq and prevHash for a partial export. */
  start: { seq: number; prevHash: string };
  /** 1-based line number of the first line that is not an event (not JSON, or missing fields). */
  badLine?: number;
}

function asEvent(line: string): AuditEvent | null {
  try {
    const e = JSON.parse(line) as AuditEvent;
    const ok = Number.isSafeInteger(e.seq) && typeof e.at === 'string' && typeof e.prevHash === 'string' && typeof e.hash === 'string' && typeof e.type === 'string';
    return ok ? e : null;
  } catch {
    return null;
  }
}

type Lines = AsyncIterable<string> | Iterable<string>;

/** The verifiedSeq of every audit.anchored event in the lines (the first of the two passes). */
async function anchoredTargets(lines: Lines): Promise<number[]> {
  const out: number[] = [];
  for await (const raw of lines) {
    if (!raw.includes('"audit.anchored"')) continue;
    const e = asEvent(raw.trim());
    const vs = Number(e?.type === 'audit.anchored' ? e.payload?.verifiedSeq : NaN);
    if (Number.isSafeInteger(vs) && vs > 0) out.push(vs);
  }
  return out;
}

/**
 * Verifies NDJSON lines in order (blank lines are ignored). `lines` is read twice (a function returning a fresh iterable,
 * or an array): once for the anchored events' targets, once for the chain.
 */
export async function verifyAuditLines(lines: Lines | (() => Lines), opts: { expect?: ChainExpectation[] } = {}): Promise<ExportVerification> {
  const open = typeof lines === 'function' ? lines : () => lines;
  const targets = await anchoredTargets(open());
  let check: ChainAudit | null = null;
  let start = { seq: 1, prevHash: GENESIS_HASH };
  let n = 0;
  const empty = () => new ChainAudit({ expectations: opts.expect, anchoredTargets: targets });
  const { anchors: _rows, ...none } = empty().result();
  for await (const raw of open()) {
    n++;
    const line = raw.trim();
    if (!line) continue;
    const e = asEvent(line);
    if (!e) {
      const { anchors: _a, ...partial } = (check ?? empty()).result();
      const base = check ? partial : { ...partial, headHash: start.prevHash, headSeq: start.seq - 1 };
      return { ...base, ok: false, start, badLine: n, firstBadSeq: base.headSeq + 1, reason: `line ${n} is not an audit event` };
    }
    if (!check) {
      start = e.seq === 1 ? { seq: 1, prevHash: GENESIS_HASH } : { seq: e.seq, prevHash: e.prevHash };
      check = new ChainAudit({ start, expectations: opts.expect, anchoredTargets: targets });
    }
    check.push(e);
  }
  if (!check) return { ...none, start };
  const { anchors: _a, ...result } = check.result();
  return { ...result, start };
}

export async function verifyAuditFile(file: string, opts: { expect?: ChainExpectation[] } = {}): Promise<ExportVerification> {
  const lines = () => readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  return verifyAuditLines(lines, opts);
}

/** A public key file: PEM (SPKI), or a JWK Set / single JWK as served at /.well-known/facematch/keys. */
export function readPublicKeys(file: string): KeyObject[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text.includes('BEGIN')) return [parseEd25519PublicKey(text)];
  const j = JSON.parse(text) as { keys?: Array<{ kty: string; crv: string; x: string }>; kty?: string; crv?: string; x?: string };
  const keys = j.keys ?? [j as { kty: string; crv: string; x: string }];
  return keys.map((k) => parseEd25519PublicKey(k));
}

/**
 * Expectations from checkpoint files (a file, or every checkpoint-*.json of a directory); each must be signed by one of
 * `keys`. A file that is not a validly signed checkpoint is returned in `invalid` (and fails the verification).
 */
export function checkpointExpectations(sources: string[], keys: KeyObject[]): { expect: ChainExpectation[]; invalid: Array<{ source: string; reason: string }> } {
  const expect: ChainExpectation[] = [];
  const invalid: Array<{ source: string; reason: string }> = [];
  for (const src of sources) {
    const files = fs.statSync(src).isDirectory()
      ? fs.readdirSync(src).filter((f) => CHECKPOINT_FILE.test(f)).sort().map((f) => path.join(src, f))
      : [src];
    for (const f of files) {
      const stored = parseStored(fs.readFileSync(f, 'utf8'));
      if (!stored) invalid.push({ source: f, reason: 'not a checkpoint of format v1' });
      else if (!keys.some((k) => verifyCheckpoint(stored.checkpoint, k))) invalid.push({ source: f, reason: 'no valid signature of the given public key' });
      else expect.push({ seq: stored.checkpoint.seq, hash: stored.checkpoint.hash, source: path.basename(f) });
    }
  }
  return { expect, invalid };
}


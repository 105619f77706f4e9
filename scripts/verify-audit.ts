/**
 * Verifies an audit export (NDJSON from GET /v1/audit/export) offline, with no database:
 *
 *   npm run verify-audit -- facematch-audit.ndjson      (a relative path is taken from the directory npm was run in)
 *
 * Prints the result JSON and exits 0 when the chain verifies, 1 when it does not (or the file is unreadable).
 * A full export verifies from genesis; a partial one (exported with from=) from its first event's prevHash, which proves the
 * events are unaltered and gap-free among themselves. Tie it to history by comparing a seq/hash with a stored anchor.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ChainVerifier, GENESIS_HASH, type AuditEvent, type ChainVerification } from '../src/domain/audit-chain';

export interface ExportVerification extends ChainVerification {
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

/** Verifies NDJSON lines in order (blank lines are ignored). */
export async function verifyAuditLines(lines: AsyncIterable<string> | Iterable<string>): Promise<ExportVerification> {
  let verifier: ChainVerifier | null = null;
  let start = { seq: 1, prevHash: GENESIS_HASH };
  let n = 0;
  for await (const raw of lines) {
    n++;
    const line = raw.trim();
    if (!line) continue;
    const e = asEvent(line);
    if (!e) {
      const partial = verifier?.result() ?? { ok: false, events: 0, headHash: start.prevHash, headSeq: start.seq - 1 };
      return { ...partial, ok: false, start, badLine: n, firstBadSeq: partial.headSeq + 1, reason: `line ${n} is not an audit event` };
    }
    if (!verifier) {
      start = e.seq === 1 ? { seq: 1, prevHash: GENESIS_HASH } : { seq: e.seq, prevHash: e.prevHash };
      verifier = new ChainVerifier(start);
    }
    verifier.push(e);
  }
  return { ...(verifier ?? new ChainVerifier()).result(), start };
}

export async function verifyAuditFile(file: string): Promise<ExportVerification> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  return verifyAuditLines(rl);
}

async function main() {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npm run verify-audit -- <export.ndjson>');
  // npm runs scripts in the project folder; a relative path means the caller's folder (INIT_CWD, set by npm).
  const result = await verifyAuditFile(path.resolve(process.env.INIT_CWD ?? process.cwd(), file));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

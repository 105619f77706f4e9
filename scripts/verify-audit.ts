/**
 * Verifies an audit export (NDJSON from GET /v1/audit/export) offline, with no database
 * (docs/OVERSIGHT.md):
 *
 *   npm run verify-audit -- facematch-audit.ndjson [--expect SEQ:HASH]… [--checkpoints DIR_OR_FILE --public-key KEY_FILE]…
 *
 * (a relative path is taken from the directory npm was run in). Prints the result JSON and exits 0 when the chain verifies,
 * 1 when it does not (or a file is unreadable), 2 on bad arguments.
 * A full export verifies from genesis; a partial one (exported with from=) from its first event's prevHash, which proves the
 * events are unaltered and gap-free among themselves. Besides every hash and link it checks each `audit.anchored` event's
 * verified head against the chain, and that the chain extends every expected head: `--expect seq:hash` (a head you kept), and
 * the signed checkpoints in `--checkpoints` (a checkpoint file or a directory of them), whose Ed25519 signatures are checked
 * with `--public-key` (a PEM file, or the JWK Set saved from /.well-known/facematch/keys). An expected seq beyond the export's
 * last event fails: its tail is missing.
 */
import path from 'node:path';
import { parseExpectation, type ChainExpectation } from '../src/modules/audit/chain-audit.model';
import { checkpointExpectations, readPublicKeys, verifyAuditFile } from './lib/audit-export';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run verify-audit -- <export.ndjson> [--expect SEQ:HASH]… [--checkpoints DIR_OR_FILE]… [--public-key KEY_FILE]\n`);
  process.exit(2);
}

async function main() {
  // npm runs scripts in the project folder; a relative path means the caller's folder (INIT_CWD, set by npm).
  const here = (f: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), f);
  const args = process.argv.slice(2);
  let file: string | undefined;
  const expect: ChainExpectation[] = [];
  const checkpoints: string[] = [];
  let keyFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i] ?? usage(`${a} needs a value`);
    if (a === '--expect') expect.push(parseExpectation(value(), 'expect') ?? usage('--expect takes seq:hash (64 hex digits)'));
    else if (a === '--checkpoints') checkpoints.push(here(value()));
    else if (a === '--public-key') keyFile = here(value());
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (file) usage('one export file only');
    else file = here(a);
  }
  if (!file) usage('no export file given');
  if (checkpoints.length && !keyFile) usage('--checkpoints needs --public-key: an unsigned checkpoint proves nothing');
  const fromFiles = checkpoints.length ? checkpointExpectations(checkpoints, readPublicKeys(keyFile!)) : { expect: [], invalid: [] };
  const r = await verifyAuditFile(file, { expect: [...expect, ...fromFiles.expect] });
  const invalid = fromFiles.invalid[0];
  const result = { ...r, ...(r.ok && invalid ? { ok: false, reason: `checkpoint ${invalid.source}: ${invalid.reason}` } : {}), checkpoints: { read: fromFiles.expect.length + fromFiles.invalid.length, invalid: fromFiles.invalid } };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

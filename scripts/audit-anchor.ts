/**
 * Anchors the audit chain: verifies it from genesis, appends an `audit.anchored` event that records the verified head, stores
 * that event's {seq, hash} in `audit_anchor`, and prints `{seq, hash, at}`. Keep the printed line somewhere the database's
 * operators cannot change (a ticket, an e-mail to the supervisory authority, a WORM bucket): later, an export that reproduces
 * this hash at this seq proves that nothing up to it changed. Run periodically (cron) or after notable events
 * (docs/OVERSIGHT.md, "Anchoring").
 *
 *   npm run audit:anchor
 *
 * Connects like the service (DATABASE_URL, or the embedded database under DATA_DIR: refused, naming the pid, while a service holds it).
 * Exits 1 without anchoring when the chain does not verify.
 */
import { loadConfig } from '../src/config';
import { createAuditService } from '../src/modules/audit/audit.service';
import { createAnchorRepo } from '../src/modules/audit/anchor.repo';
import { createAuditRepo } from '../src/modules/audit/audit.repo';
import { prepareSchema } from '../src/platform/db/migrate';
import { openDb } from '../src/platform/db/open';

async function main() {
  const config = loadConfig();
  const db = await openDb({ url: config.db.url, dataDir: config.dataDir, poolSize: 2 });
  try {
    await prepareSchema(db, { migrate: config.db.migrateOnStart });
    const audit = createAuditService({ db, audit: createAuditRepo(), anchors: createAnchorRepo() });
    const a = await audit.anchor({ keyId: '00000000-0000-0000-0000-000000000000', organization: '*', roles: ['auditor'] });
    process.stdout.write(`${JSON.stringify({ seq: a.seq, hash: a.hash, at: a.at })}\n`);
    process.stderr.write(`verified ${a.verified.events} events up to seq ${a.verified.headSeq} in ${a.verified.ms} ms\n`);
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}${(e as { details?: unknown }).details ? ` ${JSON.stringify((e as { details: unknown }).details)}` : ''}\n`);
  process.exit(1);
});

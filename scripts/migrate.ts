/**
 * Applies pending migrations and exits; prints `{"applied": [versions]}`. For least-privilege deployments (docs/OVERSIGHT.md):
 * run it with the schema owner's DATABASE_URL, and the service and other scripts with MIGRATE_ON_START=false as a role that
 * owns nothing. Safe to run while services are up and from several hosts at once (advisory lock); a second run applies none.
 *
 *   DATABASE_URL=postgres://facematch_owner:…@db/facematch npm run migrate
 */
import { loadConfig } from '../src/config';
import { migrate } from '../src/platform/db/migrate';
import { openDb } from '../src/platform/db/open';

async function main() {
  const config = loadConfig();
  const db = await openDb({ url: config.db.url, dataDir: config.dataDir, poolSize: 1 });
  try {
    process.stdout.write(`${JSON.stringify({ applied: await migrate(db) })}\n`);
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

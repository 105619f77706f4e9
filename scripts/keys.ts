/**
 * Offline API-key management against the service's database (DATABASE_URL for PostgreSQL; without it, the embedded
 * database under DATA_DIR, which must not be open in a running service at the same time; docs/deploy.md, "First admin key and recovery").
 *
 *   npm run keys -- create --role searcher [--role reviewer] --org bank-a --holder "Jane Doe" [--label "KYC gateway"]
 *   npm run keys -- list
 *   npm run keys -- revoke <key-id>
 *
 * Every change is written to the audit chain as the actor `cli`.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { ROLES, type Principal, type Role } from '../src/shared/principal';
import { createKeyService } from '../src/modules/key/key.service';
import { createAuditRepo } from '../src/modules/audit/audit.repo';
import { createKeyRepo } from '../src/modules/key/key.repo';
import { prepareSchema } from '../src/platform/db/migrate';
import { openDb } from '../src/platform/db/open';

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { role: { type: 'string', multiple: true }, org: { type: 'string' }, holder: { type: 'string' }, label: { type: 'string' } },
    allowPositionals: true,
  });
  const config = loadConfig();
  const db = await openDb({ url: config.db.url, dataDir: config.dataDir, poolSize: 2 });
  try {
    await prepareSchema(db, { migrate: config.db.migrateOnStart });
    const keys = createKeyService({ db, keys: createKeyRepo(), audit: createAuditRepo() });
    const cli: Principal = { keyId: '00000000-0000-0000-0000-000000000000', roles: ['admin'], organization: '*', holder: 'cli' };
    if (command === 'create') {
      const roles = values.role ?? [];
      const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (!roles.length || bad.length || !values.org || !values.holder?.trim()) {
        throw new Error(`create needs --role (${ROLES.join('|')}), --org and --holder${bad.length ? `; unknown role(s): ${bad.join(', ')}` : ''}`);
      }
      const k = await keys.create(cli, { roles: roles as Role[], organization: values.org, holder: values.holder.trim(), label: values.label });
      process.stdout.write(`${JSON.stringify({ id: k.id, roles: k.roles, organization: k.organization, holder: k.holder })}\nkey (shown once): ${k.key}\n`);
    } else if (command === 'list') {
      for (const k of await keys.list(cli)) process.stdout.write(`${JSON.stringify(k)}\n`);
    } else if (command === 'revoke' && positionals[0]) {
      process.stdout.write(`${JSON.stringify(await keys.revoke(cli, positionals[0]))}\n`);
    } else {
      throw new Error('usage: keys create --role R [--role R2] --org ORG --holder NAME [--label L] | keys list | keys revoke KEY_ID');
    }
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

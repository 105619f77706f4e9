import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { compose } from '../../src/compose';
import { loadConfig } from '../../src/config';
import type { Role } from '../../src/domain/api-key';
import type { FaceEngine } from '../../src/domain/face.types';
import type { Db } from '../../src/infra/db/db';
import { migrate } from '../../src/infra/db/migrate';

export const BOOTSTRAP_KEY = 'test-bootstrap-admin-key-000000000001';

/** A composed service (real repositories, real database) with the bootstrap admin key registered. */
export async function startService(db: Db, opts: { env?: Record<string, string>; engine?: FaceEngine; migrateFirst?: boolean; clock?: () => Date; consoleDir?: string } = {}) {
  // A fresh image key per service, as a PostgreSQL deployment must configure one (embedded mode would make its own).
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: 'memory://',
    FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ...opts.env,
  });
  if (opts.migrateFirst !== false) await migrate(db);
  const system = await compose({
    config,
    db,
    logger: pino({ level: 'silent' }),
    clock: opts.clock,
    consoleDir: opts.consoleDir,
    ...(opts.engine ? { engineFactory: async () => opts.engine! } : {}),
  });
  if (opts.migrateFirst !== false) await system.keys.bootstrap(BOOTSTRAP_KEY);
  let keyCount = 0;
  const admin = { keyId: 'bootstrap', roles: ['admin'] as Role[], organization: '*' };
  return {
    ...system,
    config,
    /** Creates a key through the real key service; returns the bearer header value. Each key has its own holder unless given. */
    async key(roles: Role[], organization: string, holder?: string): Promise<{ id: string; auth: string }> {
      const k = await system.keys.create(admin, { roles, organization, holder: holder ?? `holder of key ${++keyCount}`, label: 'test' });
      return { id: k.id, auth: `Bearer ${k.key}` };
    },
  };
}

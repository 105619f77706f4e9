import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { compose, type ComposeOptions } from '../../src/compose';
import { loadConfig } from '../../src/config';
import type { Role } from '../../src/domain/api-key';
import type { FaceEngine } from '../../src/domain/face.types';
import type { Db } from '../../src/infra/db/db';
import { migrate } from '../../src/infra/db/migrate';

export const BOOTSTRAP_KEY = 'test-bootstrap-admin-key-000000000001';

/** A composed service (real repositories, real database) with the bootstrap admin key registered. */
export async function startService(
  db: Db,
  opts: {
    env?: Record<string, string>;
    engine?: FaceEngine;
    migrateFirst?: boolean;
    logger?: pino.Logger;
    clock?: () => number;
    engineFactory?: () => Promise<FaceEngine>;
    webhooks?: ComposeOptions['webhooks'];
    /** Time source for probe-face retention and stored search times. */
    now?: () => Date;
    consoleDir?: string;
    /** A hot standby of `db` for replica-eligible reads (with DATABASE_READ_URL in env; the test closes it). */
    replica?: Db;
  } = {},
) {
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
    logger: opts.logger ?? pino({ level: 'silent' }),
    clock: opts.clock,
    ...(opts.engine ? { engineFactory: async () => opts.engine! } : opts.engineFactory ? { engineFactory: opts.engineFactory } : {}),
    webhooks: opts.webhooks,
    now: opts.now,
    consoleDir: opts.consoleDir,
    replica: opts.replica,
  });
  if (opts.migrateFirst !== false) await system.keys.bootstrap(BOOTSTRAP_KEY);
  let keyCount = 0;
  const admin = { keyId: 'bootstrap', roles: ['admin'] as Role[], organization: '*' };
  return {
    ...system,
    config,
    /**
     * A watchlist of `organization` made through the real watchlist service (and grants to other organizations, if given).
     * Returns its id.
     */
    async watchlist(organization: string, name: string, grants: Array<{ organization: string; access: 'search' | 'screen' }> = []): Promise<string> {
      const owner = { keyId: `owner-${organization}`, roles: ['admin'] as Role[], organization };
      const w = await system.watchlists.create(owner, { name, description: null, jurisdiction: 'EU', legalBasis: 'test', retentionDays: null });
      for (const g of grants) await system.watchlists.grant(owner, w.id, g);
      return w.id;
    },
    /** Creates a key through the real key service; returns the bearer header value. Each key has its own holder unless given. */
    async key(roles: Role[], organization: string, holder?: string): Promise<{ id: string; auth: string }> {
      const k = await system.keys.create(admin, { roles, organization, holder: holder ?? `holder of key ${++keyCount}`, label: 'test' });
      return { id: k.id, auth: `Bearer ${k.key}` };
    },
  };
}

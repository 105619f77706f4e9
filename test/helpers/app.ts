import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pino from 'pino';
import { compose, type ComposeOptions } from '../../src/compose';
import { loadConfig } from '../../src/config';
import type { Role } from '../../src/shared/principal';
import type { FaceEngine } from '../../src/shared/face.types';
import type { Db } from '../../src/shared/db';
import { migrate } from '../../src/platform/db/migrate';
import { deploymentKeyFrom, type DeploymentKey } from '../../src/platform/crypto/deployment-key';

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
    /** Default: a throwaway Ed25519 key per service. */
    deploymentKey?: DeploymentKey;
    outbound?: ComposeOptions['outbound'];
  } = {},
) {
  // A fresh image key per service, as a PostgreSQL deployment must configure one (embedded mode would make its own).
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: 'memory://',
    FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Most tests are about something else and state short purposes ('p'); purpose-policy.test.ts runs the default policy.
    PURPOSE_MIN_LENGTH: '1',
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
    deploymentKey: opts.deploymentKey ?? deploymentKeyFrom(generateKeyPairSync('ed25519').privateKey),
    outbound: opts.outbound,
  });
  if (opts.migrateFirst !== false) await system.keys.bootstrap(BOOTSTRAP_KEY);
  let keyCount = 0;
  const admin = { keyId: 'bootstrap', roles: ['admin'] as Role[], organization: '*' };
  /**
   * A grant of `owner`'s watchlist, made by the owner's admin and accepted by an admin of the receiving organization through
   * the real watchlist service (a grant gives nothing until accepted). Returns the active grant.
   */
  const grant = async (owner: string, watchlistId: string, g: { organization: string; access: 'search' | 'screen'; expiresAt?: string | null }) => {
    const made = await system.watchlists.grant({ keyId: `owner-${owner}`, roles: ['admin'], organization: owner }, watchlistId, g);
    return system.watchlists.answer({ keyId: `admin-${g.organization}`, roles: ['admin'], organization: g.organization }, made.id, 'accept');
  };
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
      for (const g of grants) await grant(organization, w.id, g);
      return w.id;
    },
    /** A grant made and accepted (above). */
    grant,
    /** Creates a key through the real key service; returns the bearer header value. Each key has its own holder unless given. */
    async key(roles: Role[], organization: string, holder?: string): Promise<{ id: string; auth: string }> {
      const k = await system.keys.create(admin, { roles, organization, holder: holder ?? `holder of key ${++keyCount}`, label: 'test' });
      return { id: k.id, auth: `Bearer ${k.key}` };
    },
  };
}

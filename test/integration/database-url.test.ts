import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { migrate } from '../../src/platform/db/migrate';
import { openDb } from '../../src/platform/db/open';
import { findPostgresBin, startPasswordCluster } from '../helpers/replica-cluster';

/**
 * Passwords with reserved characters in DATABASE_URL and DATABASE_READ_URL (docs/deploy.md): percent-encoded, they reach
 * PostgreSQL decoded (a throw-away cluster of its own that checks passwords with scram-sha-256; the machine's cluster trusts
 * local connections, so it could not tell); written raw, the start is refused with a message that says what to do and never
 * repeats the password. The env examples suggest secrets that need no encoding.
 */
const ROOT = path.resolve(__dirname, '../..');
const PASSWORD = 'p@ss/w:rd?#% +&=[é]';
const KEY = Buffer.alloc(32, 1).toString('base64');
const found = findPostgresBin();

describe('database passwords with reserved characters', () => {
  it('refuses an unencoded one at start with the remedy, without echoing it', () => {
    for (const name of ['DATABASE_URL', 'DATABASE_READ_URL']) {
      const env = { FACEMATCH_ENCRYPTION_KEY: KEY, DATABASE_URL: 'postgres://u:x@db/f', [name]: 'postgres://facematch:se/cr?et@db:5432/facematch' };
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^${name}: not a valid URL: percent-encode reserved characters in the password`))]);
      expect((err as Error).message).not.toContain('cr?et');
    }
  });

  it('suggests URL-safe secrets in deploy/*.env.example', () => {
    const db = fs.readFileSync(path.join(ROOT, 'deploy/db.env.example'), 'utf8');
    const suggested = /openssl rand -hex (\d+)/.exec(db);
    expect(suggested).not.toBeNull();
    expect(db).not.toMatch(/rand -base64/);
    for (let i = 0; i < 20; i++) {
      const pw = execFileSync('openssl', ['rand', '-hex', suggested![1]!], { encoding: 'utf8' }).trim();
      expect(new URL(`postgres://facematch_service:${pw}@db:5432/facematch`).password).toBe(pw);
    }
  });

  (('bin' in found) ? it : it.skip)(`connects with a percent-encoded one to a server that checks passwords${'bin' in found ? '' : ` (skipped: ${(found as { missing: string }).missing})`}`, async () => {
    const cluster = await startPasswordCluster((found as { bin: string }).bin, PASSWORD);
    try {
      const config = loadConfig({ FACEMATCH_ENCRYPTION_KEY: KEY, DATABASE_URL: cluster.url(PASSWORD), DATABASE_READ_URL: cluster.url(PASSWORD) });
      for (const url of [config.db.url!, config.db.read!.url]) {
        const db = await openDb({ url, dataDir: 'unused', poolSize: 1 });
        try {
          await migrate(db);
          expect((await db.query<{ who: string }>('SELECT current_user AS who')).rows).toEqual([{ who: 'postgres' }]);
        } finally {
          await db.close();
        }
      }
      // The server does check: a wrong password is refused.
      await expect(openDb({ url: cluster.url(`${PASSWORD}x`), dataDir: 'unused', poolSize: 1 })).rejects.toThrow(/password authentication failed/);
    } finally {
      cluster.destroy();
    }
  }, 120_000);
});

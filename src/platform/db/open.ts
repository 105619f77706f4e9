import path from 'node:path';
import { lockDataDir } from './data-dir-lock';
import type { Db } from '../../shared/db';
import { createPgliteDb } from './pglite.db';
import { createPostgresDb, type PostgresDbOptions } from './postgres.db';

/**
 * DATABASE_URL set → PostgreSQL pool; unset → embedded PGlite under DATA_DIR/pgdata (`memory://` works for tests), opened only
 * while holding DATA_DIR's exclusive lock (a second process — service or script — is refused while one has it open).
 */
export async function openDb(opts: { url?: string; poolSize?: number; dataDir: string; logger?: PostgresDbOptions['logger'] }): Promise<Db> {
  if (opts.url) return createPostgresDb(opts.url, opts.poolSize ?? 10, { logger: opts.logger });
  if (opts.dataDir.startsWith('memory://')) return createPgliteDb(opts.dataDir);
  const lock = await lockDataDir(opts.dataDir);
  let db: Db;
  try {
    db = await createPgliteDb(path.join(opts.dataDir, 'pgdata'));
  } catch (e) {
    lock.release();
    throw e;
  }
  return {
    ...db,
    async close() {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    },
  };
}

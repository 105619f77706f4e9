import path from 'node:path';
import type { Db } from './db';
import { createPgliteDb } from './pglite.db';
import { createPostgresDb, type PostgresDbOptions } from './postgres.db';

/** DATABASE_URL set → PostgreSQL pool; unset → embedded PGlite under DATA_DIR/pgdata (`memory://` works for tests). */
export function openDb(opts: { url?: string; poolSize?: number; dataDir: string; logger?: PostgresDbOptions['logger'] }): Promise<Db> {
  if (opts.url) return createPostgresDb(opts.url, opts.poolSize ?? 10, { logger: opts.logger });
  const dir = opts.dataDir.startsWith('memory://') ? opts.dataDir : path.join(opts.dataDir, 'pgdata');
  return createPgliteDb(dir);
}

import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Db, Queryable, QueryResult } from '../../shared/db';

/**
 * Embedded PostgreSQL (PGlite, WASM) with pgvector. One connection in one process: PGlite queues statements and
 * transactions internally, so `session` and `transaction` simply use the single instance.
 * Never open the same data directory from two processes.
 */
export async function createPgliteDb(dataDir: string): Promise<Db> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create({ dataDir, extensions: { vector } });

  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const r = await q.query<R>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  const root = wrap(pg);

  return {
    kind: 'pglite',
    ...root,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    session: (fn) => fn(root),
    close: () => pg.close(),
  };
}

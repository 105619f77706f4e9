import pg from 'pg';
import type { Db, Queryable, QueryResult } from './db';

// int8 (counts, audit seq) as JS numbers: every value the service stores is far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** PostgreSQL through a `pg` pool. A transaction holds one checked-out client from BEGIN to COMMIT/ROLLBACK. */
export async function createPostgresDb(url: string, poolSize: number): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's error (server restart) must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);

  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const r = await c.query(sql, params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });

  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (e) {
      broken = e instanceof Error ? e : undefined;
      throw e;
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: destroy it rather than return it to the pool.
      client.release(broken && (broken as { rollbackFailed?: boolean }).rollbackFailed ? broken : undefined);
    }
  };

  await pool.query('SELECT 1');

  return {
    kind: 'postgres',
    ...wrap(pool),
    transaction: (fn) =>
      withClient(async (client) => {
        await client.query('BEGIN');
        try {
          const out = await fn(wrap(client));
          await client.query('COMMIT');
          return out;
        } catch (e) {
          try {
            await client.query('ROLLBACK');
          } catch {
            if (e && typeof e === 'object') Object.assign(e, { rollbackFailed: true });
          }
          throw e;
        }
      }),
    session: (fn) => withClient((client) => fn(wrap(client))),
    close: () => pool.end(),
  };
}

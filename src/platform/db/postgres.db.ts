import pg from 'pg';
import { DatabaseUnavailableError } from '../../shared/errors';
import type { Db, Queryable, QueryResult } from '../../shared/db';
import { isConnectionFailure } from './sqlstate';

// int8 (counts, audit seq) as JS numbers: every value the service stores is far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PostgresDbOptions {
  /** Told once when the database becomes unreachable and once when it answers again (not once per failed request). */
  logger?: { error(obj: object, msg: string): void; info(msg: string): void };
  /** false: do not connect before returning (a read replica may be down when the service starts; it is checked later). */
  connectNow?: boolean;
  /** A connection attempt that takes longer fails (unreachable host); default: no limit (pg's default). */
  connectionTimeoutMillis?: number;
}

/**
 * PostgreSQL through a `pg` pool. A transaction holds one checked-out client from BEGIN to COMMIT/ROLLBACK.
 *
 * Connection faults: a checked-out client whose connection drops emits 'error' (the pool only listens while it is idle), so
 * every checkout listens too, and a client that failed is destroyed rather than returned. A failure to connect, or a
 * connection lost during a statement, surfaces as DatabaseUnavailableError (503 UNAVAILABLE): in a transaction nothing
 * committed (except in the unknowable case of a connection lost while COMMIT itself was in flight).
 */
export async function createPostgresDb(url: string, poolSize: number, opts: PostgresDbOptions = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: opts.connectionTimeoutMillis });
  // An idle client's error (server restart, terminated backend) must not crash the process; the pool drops that client.
  pool.on('error', () => undefined);

  let down = false;
  const failed = (e: unknown): Error => {
    if (!down) {
      down = true;
      opts.logger?.error({ err: { message: (e as Error)?.message, code: (e as { code?: string })?.code } }, 'database unavailable');
    }
    // The driver's error rides along as `cause` for logs (never in a response body).
    return Object.assign(new DatabaseUnavailableError(), { cause: e });
  };
  const answered = () => {
    if (down) {
      down = false;
      opts.logger?.info('database available again');
    }
  };

  const wrap = (c: pg.PoolClient): Queryable => ({
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const r = await c.query(sql, params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });

  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw failed(e);
    }
    let lost: Error | undefined;
    const onError = (e: Error) => {
      lost = e;
    };
    client.on('error', onError);
    let broken: Error | undefined;
    try {
      const out = await fn(client);
      answered();
      return out;
    } catch (e) {
      broken = e instanceof Error ? e : new Error(String(e));
      if (lost || isConnectionFailure(e)) throw failed(e);
      answered();
      throw e;
    } finally {
      client.off('error', onError);
      // A client whose connection failed, or whose ROLLBACK failed, is in an unknown state: destroy it, never reuse it.
      const destroy = lost ?? (broken && (isConnectionFailure(broken) || (broken as { rollbackFailed?: boolean }).rollbackFailed) ? broken : undefined);
      client.release(destroy);
    }
  };

  if (opts.connectNow !== false) await pool.query('SELECT 1');

  return {
    kind: 'postgres',
    query: (sql, params) => withClient((c) => wrap(c).query(sql, params)),
    exec: (sql) => withClient((c) => wrap(c).exec(sql)),
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

import pg from 'pg';
import { AUDIT_APPEND_LOCK_KEY } from '../../src/modules/audit/audit.repo';

/**
 * Deterministic interleavings on PostgreSQL: hold the audit append lock from a side connection, start requests, wait until a
 * known number of them queue for it inside their transactions, then let go.
 */
export async function auditLockHolder(url: string) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('SELECT pg_advisory_lock($1)', [AUDIT_APPEND_LOCK_KEY]);
  return {
    pid: (c as unknown as { processID: number }).processID,
    /** Returns once at least `n` backends of this database wait for an advisory lock. */
    async waiters(n: number) {
      const count = async () =>
        (await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted`,
        )).rows[0]!.n;
      while ((await count()) < n) await new Promise((r) => setImmediate(r));
    },
    async release() {
      await c.query('SELECT pg_advisory_unlock($1)', [AUDIT_APPEND_LOCK_KEY]).catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

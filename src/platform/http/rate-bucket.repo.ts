import type { Queryable } from '../../shared/db';

/** The database's clock in epoch milliseconds: one clock for every instance (their own may differ by a little). */
const DB_NOW_MS = 'extract(epoch FROM clock_timestamp())::float8 * 1000';

/**
 * Token buckets in `rate_bucket` (migration 0051), for rate limits shared by several instances. One statement per decision:
 * an absent bucket is full, so a first request inserts `perMinute − 1`; otherwise, under the row lock, the bucket is refilled
 * by the elapsed time (never negative: a request whose clock reading lost the race to the lock refills nothing) and one token
 * is taken when there is one. The arithmetic is the in-memory store's, in float8, operation for operation.
 */
export function createRateBucketRepo() {
  const refilled = `least($2::float8, b.tokens + (greatest(0::float8, EXCLUDED.at - b.at) * $2::float8) / 60000::float8)`;
  return {
    /** `at` in epoch milliseconds, or null for the database's clock. */
    async take(db: Queryable, bucket: string, perMinute: number, at: number | null): Promise<{ tokens: number; allowed: boolean }> {
      const r = await db.query<{ tokens: number; allowed: boolean }>(
        `INSERT INTO rate_bucket AS b (per_minute, bucket, tokens, at, allowed)
         VALUES ($2::float8::integer, $1, $2::float8 - 1, COALESCE($3::float8, ${DB_NOW_MS}), true)
         ON CONFLICT (per_minute, bucket) DO UPDATE SET
           tokens = CASE WHEN ${refilled} >= 1 THEN ${refilled} - 1 ELSE ${refilled} END,
           allowed = ${refilled} >= 1,
           at = greatest(b.at, EXCLUDED.at)
         RETURNING tokens, allowed`,
        [bucket, perMinute, at],
      );
      return r.rows[0]!;
    },

    /** Removes the buckets of this rate that are full again (untouched for a minute): the same as absent. Returns how many. */
    async sweep(db: Queryable, perMinute: number, at: number | null): Promise<number> {
      const r = await db.query(`DELETE FROM rate_bucket WHERE per_minute = $1 AND at < COALESCE($2::float8, ${DB_NOW_MS}) - 60000`, [perMinute, at]);
      return r.rowCount;
    },
  };
}

export type RateBucketRepo = ReturnType<typeof createRateBucketRepo>;

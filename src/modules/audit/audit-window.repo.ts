import type { Queryable } from '../../shared/db';

/**
 * The seq range [first, last] of the events whose time lies in [from, to). Exports are cut by seq, not by time: `at` is when
 * an action started, so concurrent actions can commit in a slightly different order than their times, and a time filter could
 * leave seq gaps that an offline verifier would rightly report as deletions.
 */
export async function auditSeqRange(db: Queryable, w: { from?: Date; to?: Date }): Promise<{ first: number; last: number } | null> {
  const r = await db.query<{ first: number | null; last: number | null }>(
    `SELECT min(seq) AS first, max(seq) AS last FROM audit_event
      WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)`,
    [w.from ?? null, w.to ?? null],
  );
  const x = r.rows[0];
  return x && x.first != null && x.last != null ? { first: Number(x.first), last: Number(x.last) } : null;
}

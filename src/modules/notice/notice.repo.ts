import type { Queryable } from '../../shared/db';
import type { HitNotice } from './notice.model';

interface Row {
  id: string;
  at: Date;
  organization: string;
  watchlist_id: string;
  subject_id: string;
  search_id: string;
  searching_organization: string;
  mode: string;
  similarity: number;
  estimated_fmr: number;
  purpose: string;
  case_ref: string;
  federation: HitNotice['federation'] | null;
  reverse: HitNotice['reverse'] | null;
}

export const toNotice = (r: Row): HitNotice => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  organization: r.organization,
  watchlistId: r.watchlist_id,
  subjectId: r.subject_id,
  searchId: r.search_id,
  searchingOrganization: r.searching_organization,
  mode: r.mode,
  similarity: Number(r.similarity),
  estimatedFalseMatchRate: Number(r.estimated_fmr),
  purpose: r.purpose,
  caseRef: r.case_ref,
  ...(r.federation ? { federation: r.federation } : {}),
  ...(r.reverse ? { reverse: r.reverse } : {}),
});

export type NoticeRow = Row;

export function createNoticeRepo() {
  return {
    /** Writes the notice and, when its owner has a webhook, the outbox row that the delivery worker picks up. */
    async insert(db: Queryable, n: HitNotice, deliveryId: string): Promise<void> {
      await db.query(
        `INSERT INTO hit_notice (id, at, organization, watchlist_id, subject_id, search_id, searching_organization, mode, similarity, estimated_fmr, purpose, case_ref, federation, reverse)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [n.id, n.at, n.organization, n.watchlistId, n.subjectId, n.searchId, n.searchingOrganization, n.mode, n.similarity, n.estimatedFalseMatchRate, n.purpose, n.caseRef, n.federation ? JSON.stringify(n.federation) : null, n.reverse ? JSON.stringify(n.reverse) : null],
      );
      await db.query(
        `INSERT INTO webhook_delivery (id, notice_id, organization, status, next_attempt_at)
         SELECT $1, $2, $3, 'pending', $4 WHERE EXISTS (SELECT 1 FROM webhook WHERE organization = $3)`,
        [deliveryId, n.id, n.organization, n.at],
      );
    },

    /** Keyset pagination on (at, id); organization null = every organization (`*`). */
    async list(db: Queryable, f: { organization: string | null; after?: { createdAt: string; id: string }; limit: number }) {
      const r = await db.query<Row>(
        `SELECT * FROM hit_notice
          WHERE ($1::text IS NULL OR organization = $1)
            AND ($2::timestamptz IS NULL OR (at, id) > ($2::timestamptz, $3::uuid))
          ORDER BY at, id LIMIT $4`,
        [f.organization, f.after?.createdAt ?? null, f.after?.id ?? null, f.limit],
      );
      return r.rows.map(toNotice);
    },
  };
}

export type NoticeRepo = ReturnType<typeof createNoticeRepo>;

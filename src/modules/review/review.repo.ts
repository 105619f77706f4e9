import type { Queryable } from '../../shared/db';
import { SQLSTATE, sqlState } from '../../platform/db/sqlstate';
import { ConflictError } from '../../shared/errors';
import { CANDIDATE_ROWS, FACE_BOX_QUALITY, FACE_INDEX, FALSE_MATCH_RATE, RANK, SUBJECT_ID, WATCHLIST_ID } from '../search/search.model';
import {
  FOUR_EYES_SQL,
  type QueueCandidateRow,
  type QueueFilter,
  type QueueItem,
  type QueueSearchFilter,
  type QueueSort,
  type ReviewDecision,
  type ReviewLog,
  type ReviewRecord,
} from './review.model';

interface Row {
  id: string;
  search_id: string;
  face_index: number;
  subject_id: string;
  decision: ReviewDecision;
  rationale: string;
  key_id: string;
  holder: string;
  organization: string;
  checklist: Record<string, string> | null;
  created_at: Date;
}

const toRecord = (r: Row): ReviewRecord => ({
  id: r.id,
  searchId: r.search_id,
  faceIndex: Number(r.face_index),
  subjectId: r.subject_id,
  decision: r.decision,
  rationale: r.rationale,
  keyId: r.key_id,
  holder: r.holder,
  organization: r.organization,
  checklist: r.checklist ?? null,
  createdAt: new Date(r.created_at).toISOString(),
});

interface QueueRow {
  search_id: string;
  created_at: Date;
  mode: string;
  purpose: string;
  case_ref: string;
  organization: string;
  face_index: number;
  rank: number;
  face: unknown;
  candidate: unknown;
}

const toQueueItem = (x: QueueRow): QueueItem => ({
  searchId: x.search_id,
  createdAt: new Date(x.created_at).toISOString(),
  mode: x.mode,
  purpose: x.purpose,
  caseRef: x.case_ref,
  organization: x.organization,
  faceIndex: Number(x.face_index),
  rank: Number(x.rank),
  face: x.face,
  candidate: x.candidate,
});

const open = FOUR_EYES_SQL.open('a.confirmations', 'a.rejections');
const disputed = FOUR_EYES_SQL.disputed('a.confirmations', 'a.rejections');

/**
 * $1 organization (null: all), $2 holder, $3 key id, $4 case reference, $5 watchlist id, $6 state, $7 and $8 the keyset's
 * created at and search id, $9 searches per page, and for sort `strongest` $10 the keyset's best false-match rate. One statement text per sort (chosen from a fixed set, nothing interpolated
 * from input): the page of searches is ordered and cut by its keyset, then all their selected candidates are returned.
 */
const queueSearchesSql = (sort: QueueSort) => {
  const order = { oldest: 'g.created_at, g.search_id', newest: 'g.created_at DESC, g.search_id DESC', strongest: 'g.best_fmr, g.created_at, g.search_id' }[sort];
  const after = {
    oldest: '(g.created_at, g.search_id) > ($7::timestamptz, $8::uuid)',
    newest: '(g.created_at, g.search_id) < ($7::timestamptz, $8::uuid)',
    strongest: '(g.best_fmr, g.created_at, g.search_id) > ($10::float8, $7::timestamptz, $8::uuid)',
  }[sort];
  return `
  WITH cand AS (
    SELECT s.id AS search_id, s.created_at, s.mode, s.purpose, s.case_ref, s.organization,
           ${FACE_INDEX} AS face_index, ${RANK} AS rank, ${FACE_BOX_QUALITY} AS face, c AS candidate, ${FALSE_MATCH_RATE} AS fmr,
           a.confirmations, a.rejections, a.decisions, a.own_decision
      FROM search s
      LEFT JOIN api_key k ON k.id = s.key_id
      ${CANDIDATE_ROWS}
      CROSS JOIN LATERAL (
        SELECT ${FOUR_EYES_SQL.confirmations} AS confirmations, ${FOUR_EYES_SQL.rejections} AS rejections, count(r.id) AS decisions,
               max(r.decision) FILTER (WHERE r.holder = $2 OR r.key_id = $3::uuid) AS own_decision
          FROM review r WHERE r.search_id = s.id AND r.face_index = ${FACE_INDEX} AND r.subject_id = ${SUBJECT_ID}) a
     WHERE s.kind = 'search'
       AND ($1::text IS NULL OR s.organization = $1)
       AND s.key_id <> $3::uuid AND COALESCE(k.holder, '') <> $2
       AND ($4::text IS NULL OR s.case_ref = $4)
       AND ($5::uuid IS NULL OR ${WATCHLIST_ID} = $5::uuid)
       AND CASE $6::text
             WHEN 'undecided' THEN a.own_decision IS NULL AND ${open}
             WHEN 'disputed' THEN a.own_decision IS NULL AND ${disputed}
             ELSE a.own_decision IS NOT NULL
           END
  ), page AS (
    SELECT g.* FROM (SELECT search_id, created_at, min(fmr) AS best_fmr FROM cand GROUP BY search_id, created_at) g
     WHERE $7::timestamptz IS NULL OR ${after}
     ORDER BY ${order}
     LIMIT $9
  )
  SELECT cand.search_id, cand.created_at, cand.mode, cand.purpose, cand.case_ref, cand.organization, cand.face_index, cand.rank,
         cand.face, cand.candidate, cand.confirmations, cand.rejections, cand.decisions, cand.own_decision, g.best_fmr
    FROM cand JOIN page g ON g.search_id = cand.search_id
   ORDER BY ${order}, cand.face_index, cand.rank`;
};
const QUEUE_SEARCHES_SQL = { oldest: queueSearchesSql('oldest'), newest: queueSearchesSql('newest'), strongest: queueSearchesSql('strongest') };

export function createReviewRepo() {
  const repo = {
    /** CONFLICT when this key already reviewed this candidate (the unique key on search, face, subject and key). */
    async insert(db: Queryable, r: ReviewRecord): Promise<void> {
      await db.query(
        `INSERT INTO review (id, search_id, face_index, subject_id, decision, rationale, key_id, holder, organization, checklist, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`,
        [r.id, r.searchId, r.faceIndex, r.subjectId, r.decision, r.rationale, r.keyId, r.holder, r.organization, r.checklist ? JSON.stringify(r.checklist) : null, r.createdAt],
      ).catch((e: unknown) => {
        if (sqlState(e) === SQLSTATE.UNIQUE_VIOLATION) throw new ConflictError('This API key has already reviewed this candidate.');
        throw e;
      });
    },

    /**
     * Candidates of 1:N searches awaiting this holder's decision, oldest search first (then face, then rank): not searches run by
     * a key of the holder (or by this key), not candidates the holder decided, not candidates the four-eyes rule has closed
     * (review.model FOUR_EYES_SQL: rejected, or confirmed by enough holders). Candidates live in the stored result (jsonb), so this walks the searches in the window; the keyset cursor
     * keeps each page bounded.
     */
    async queue(db: Queryable, f: QueueFilter): Promise<QueueItem[]> {
      const r = await db.query<QueueRow>(
        `SELECT s.id AS search_id, s.created_at, s.mode, s.purpose, s.case_ref, s.organization,
                ${FACE_INDEX} AS face_index, ${RANK} AS rank, ${FACE_BOX_QUALITY} AS face, c AS candidate
           FROM search s
           LEFT JOIN api_key k ON k.id = s.key_id
           ${CANDIDATE_ROWS}
          WHERE s.kind = 'search'
            AND ($1::text IS NULL OR s.organization = $1)
            AND s.key_id <> $3::uuid AND COALESCE(k.holder, '') <> $2
            AND NOT EXISTS (
                  SELECT 1 FROM review r
                   WHERE r.search_id = s.id AND r.face_index = ${FACE_INDEX} AND r.subject_id = ${SUBJECT_ID}
                     AND (r.holder = $2 OR r.key_id = $3::uuid))
            AND (SELECT ${FOUR_EYES_SQL.open(FOUR_EYES_SQL.confirmations, FOUR_EYES_SQL.rejections)} FROM review r
                  WHERE r.search_id = s.id AND r.face_index = ${FACE_INDEX} AND r.subject_id = ${SUBJECT_ID})
            AND ($4::timestamptz IS NULL
                 OR (s.created_at, s.id, ${FACE_INDEX}, ${RANK}) > ($4::timestamptz, $5::uuid, $6::int, $7::int))
          ORDER BY s.created_at, s.id, 7, 8
          LIMIT $8`,
        [f.organization, f.holder, f.keyId, f.after?.createdAt ?? null, f.after?.searchId ?? null, f.after?.faceIndex ?? null, f.after?.rank ?? null, f.limit],
      );
      return r.rows.map(toQueueItem);
    },

    /**
     * The grouped queue: a page of searches (limit) under the sort, each with all its candidates the state filter selects for
     * this holder (not searches a key of the holder ran). Per candidate: its four-eyes counts (FOUR_EYES_SQL) and the holder's
     * own decision. The candidate rows of the window are read once and grouped; the keyset cursor bounds each page.
     */
    async queueSearches(db: Queryable, f: QueueSearchFilter): Promise<QueueCandidateRow[]> {
      const a = f.after;
      const r = await db.query<QueueRow & { best_fmr: number; confirmations: number; rejections: number; decisions: number; own_decision: ReviewDecision | null }>(QUEUE_SEARCHES_SQL[f.sort], [
        f.organization,
        f.holder,
        f.keyId,
        f.caseRef ?? null,
        f.watchlistId ?? null,
        f.state,
        a?.createdAt ?? null,
        a?.searchId ?? null,
        f.limit,
        ...(f.sort === 'strongest' ? [a?.bestFmr ?? null] : []),
      ]);
      return r.rows.map((x) => ({
        ...toQueueItem(x),
        bestFmr: Number(x.best_fmr),
        confirmations: Number(x.confirmations),
        rejections: Number(x.rejections),
        decisions: Number(x.decisions),
        ownDecision: x.own_decision,
      }));
    },

    /** Every decision on one search, oldest first. */
    async listBySearch(db: Queryable, searchId: string): Promise<ReviewRecord[]> {
      const r = await db.query<Row>('SELECT * FROM review WHERE search_id = $1 ORDER BY created_at, id', [searchId]);
      return r.rows.map(toRecord);
    },
  };
  return repo satisfies ReviewLog;
}

export type ReviewRepo = ReturnType<typeof createReviewRepo>;

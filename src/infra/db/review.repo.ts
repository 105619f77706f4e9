import type { ReviewDecision } from '../../domain/review-state';
import type { Queryable } from './db';
import { CANDIDATE_ROWS, FACE_BOX_QUALITY, FACE_INDEX, RANK, SUBJECT_ID } from './stored-result.sql';

export interface ReviewRecord {
  id: string;
  searchId: string;
  faceIndex: number;
  subjectId: string;
  decision: ReviewDecision;
  rationale: string;
  keyId: string;
  /** Holder of the reviewer's key when the decision was made. */
  holder: string;
  organization: string;
  /** The reviewer's feature-by-feature comparison (FISWG-style), when given. */
  checklist: Record<string, string> | null;
  createdAt: string;
}

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

/** One candidate awaiting a reviewer: the stored candidate, its probe face, and the search it belongs to. No decisions. */
export interface QueueItem {
  searchId: string;
  createdAt: string;
  mode: string;
  purpose: string;
  caseRef: string;
  organization: string;
  faceIndex: number;
  rank: number;
  /** jsonb of the stored result, unparsed: review.service reads it through domain/search-result.ts. */
  face: unknown;
  candidate: unknown;
}

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

export interface QueueFilter {
  /** null = every organization (`*` keys). */
  organization: string | null;
  holder: string;
  keyId: string;
  after?: { createdAt: string; searchId: string; faceIndex: number; rank: number };
  limit: number;
}

export function createReviewRepo() {
  return {
    /** Throws the driver's unique violation (SQLSTATE 23505) when this key already reviewed this candidate. */
    async insert(db: Queryable, r: ReviewRecord): Promise<void> {
      await db.query(
        `INSERT INTO review (id, search_id, face_index, subject_id, decision, rationale, key_id, holder, organization, checklist, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`,
        [r.id, r.searchId, r.faceIndex, r.subjectId, r.decision, r.rationale, r.keyId, r.holder, r.organization, r.checklist ? JSON.stringify(r.checklist) : null, r.createdAt],
      );
    },

    /**
     * Candidates of 1:N searches awaiting this holder's decision, oldest search first (then face, then rank): not searches run by
     * a key of the holder (or by this key), not candidates the holder decided, not candidates already rejected or confirmed by
     * two holders. Candidates live in the stored result (jsonb), so this walks the searches in the window; the keyset cursor
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
                     AND (r.holder = $2 OR r.key_id = $3::uuid OR r.decision = 'rejected'))
            AND (SELECT count(DISTINCT r.holder) FROM review r
                  WHERE r.search_id = s.id AND r.face_index = ${FACE_INDEX} AND r.subject_id = ${SUBJECT_ID}
                    AND r.decision = 'confirmed') < 2
            AND ($4::timestamptz IS NULL
                 OR (s.created_at, s.id, ${FACE_INDEX}, ${RANK}) > ($4::timestamptz, $5::uuid, $6::int, $7::int))
          ORDER BY s.created_at, s.id, 7, 8
          LIMIT $8`,
        [f.organization, f.holder, f.keyId, f.after?.createdAt ?? null, f.after?.searchId ?? null, f.after?.faceIndex ?? null, f.after?.rank ?? null, f.limit],
      );
      return r.rows.map((x) => ({
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
      }));
    },

    /** Every decision on one search, oldest first. */
    async listBySearch(db: Queryable, searchId: string): Promise<ReviewRecord[]> {
      const r = await db.query<Row>('SELECT * FROM review WHERE search_id = $1 ORDER BY created_at, id', [searchId]);
      return r.rows.map(toRecord);
    },
  };
}

export type ReviewRepo = ReturnType<typeof createReviewRepo>;

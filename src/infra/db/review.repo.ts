import type { ReviewDecision } from '../../domain/review-state';
import type { Queryable } from './db';

export interface ReviewRecord {
  id: string;
  searchId: string;
  faceIndex: number;
  subjectId: string;
  decision: ReviewDecision;
  rationale: string;
  keyId: string;
  organization: string;
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
  organization: string;
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
  organization: r.organization,
  createdAt: new Date(r.created_at).toISOString(),
});

export function createReviewRepo() {
  return {
    /** Throws the driver's unique violation (SQLSTATE 23505) when this key already reviewed this candidate. */
    async insert(db: Queryable, r: ReviewRecord): Promise<void> {
      await db.query(
        `INSERT INTO review (id, search_id, face_index, subject_id, decision, rationale, key_id, organization, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [r.id, r.searchId, r.faceIndex, r.subjectId, r.decision, r.rationale, r.keyId, r.organization, r.createdAt],
      );
    },

    /** Every decision on one search, oldest first. */
    async listBySearch(db: Queryable, searchId: string): Promise<ReviewRecord[]> {
      const r = await db.query<Row>('SELECT * FROM review WHERE search_id = $1 ORDER BY created_at, id', [searchId]);
      return r.rows.map(toRecord);
    },
  };
}

export type ReviewRepo = ReturnType<typeof createReviewRepo>;

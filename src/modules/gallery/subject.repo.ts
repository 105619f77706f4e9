import type { Category, Subject, SubjectDirectory, SubjectFields, SubjectFilter, SubjectNames } from './gallery.model';
import type { Queryable } from '../../shared/db';

interface Row {
  id: string;
  display_name: string;
  category: Category;
  watchlist: string;
  watchlist_id: string;
  external_ref: string | null;
  case_ref: string | null;
  legal_basis: string;
  notes: string | null;
  review_by: string | Date | null;
  organization: string;
  created_at: Date;
  updated_at: Date;
  face_count?: number;
}

const day = (d: string | Date | null): string | null =>
  d === null ? null : typeof d === 'string' ? d.slice(0, 10) : new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);

const toSubject = (r: Row): Subject => ({
  id: r.id,
  displayName: r.display_name,
  category: r.category,
  watchlist: r.watchlist,
  watchlistId: r.watchlist_id,
  externalRef: r.external_ref,
  caseRef: r.case_ref,
  legalBasis: r.legal_basis,
  notes: r.notes,
  reviewBy: day(r.review_by),
  organization: r.organization,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
  ...(r.face_count !== undefined ? { faceCount: Number(r.face_count) } : {}),
});

// review_by is read as text so both drivers return the calendar date unchanged (no time-zone shifts).
const COLUMNS = `s.id, s.display_name, s.category, w.name AS watchlist, s.watchlist_id, s.external_ref, s.case_ref, s.legal_basis, s.notes,
  s.review_by::text AS review_by, s.organization, s.created_at, s.updated_at,
  (SELECT count(*)::int FROM face f WHERE f.subject_id = s.id) AS face_count`;

const FROM = 'subject s JOIN watchlist w ON w.id = s.watchlist_id';

export function createSubjectRepo() {
  const repo = {
    async insert(db: Queryable, s: SubjectFields & { id: string; organization: string }): Promise<Subject> {
      await db.query(
        `INSERT INTO subject (id, display_name, category, watchlist_id, external_ref, case_ref, legal_basis, notes, review_by, organization)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10)`,
        [s.id, s.displayName, s.category, s.watchlistId, s.externalRef, s.caseRef, s.legalBasis, s.notes, s.reviewBy, s.organization],
      );
      return (await this.get(db, s.id))!;
    },

    async get(db: Queryable, id: string): Promise<Subject | null> {
      const r = await db.query<Row>(`SELECT ${COLUMNS} FROM ${FROM} WHERE s.id = $1`, [id]);
      return r.rows[0] ? toSubject(r.rows[0]) : null;
    },

    /**
     * Keyset pagination on (created_at, id). The exact look-ups use their indexes (migration 0050; plans checked on PostgreSQL
     * 15 with 200k subjects: 0.2 ms and 0.1 ms): externalRef through (watchlist_id, external_ref); imageSha256 as an
     * uncorrelated ARRAY(…) computed once from face_image_sha256_idx, then subject ids by primary key. Written as a correlated
     * EXISTS it became a filter on a walk of subject_created_idx over every subject (1.8 s).
     */
    async list(db: Queryable, f: SubjectFilter): Promise<Subject[]> {
      const r = await db.query<Row>(
        `SELECT ${COLUMNS} FROM ${FROM}
          WHERE ($1::uuid[] IS NULL OR s.watchlist_id = ANY($1::uuid[]))
            AND ($8::text = '*' OR w.organization = $8::text)
            AND ($2::text IS NULL OR s.category = $2)
            AND ($3::text IS NULL OR s.display_name ILIKE '%' || $3 || '%' OR s.external_ref = $3 OR s.case_ref = $3)
            AND ($4::date IS NULL OR s.review_by < $4::date)
            AND ($9::text IS NULL OR s.external_ref = $9::text)
            AND ($10::text IS NULL OR s.id = ANY (ARRAY(SELECT f.subject_id FROM face f WHERE f.image_sha256 = $10::text)))
            AND ($5::timestamptz IS NULL OR (s.created_at, s.id) > ($5::timestamptz, $6::uuid))
          ORDER BY s.created_at, s.id
          LIMIT $7`,
        [
          f.watchlistIds ?? null,
          f.category ?? null,
          f.q ?? null,
          f.dueBefore ?? null,
          f.after?.createdAt ?? null,
          f.after?.id ?? null,
          f.limit,
          f.visibleTo.organization,
          f.externalRef ?? null,
          f.imageSha256 ?? null,
        ],
      );
      return r.rows.map(toSubject);
    },

    async update(db: Queryable, id: string, patch: Partial<SubjectFields>): Promise<Subject | null> {
      const r = await db.query(
        `UPDATE subject SET
           display_name = COALESCE($2, display_name),
           category     = COALESCE($3, category),
           watchlist_id = COALESCE($4::uuid, watchlist_id),
           external_ref = CASE WHEN $5::boolean THEN $6 ELSE external_ref END,
           case_ref     = CASE WHEN $7::boolean THEN $8 ELSE case_ref END,
           legal_basis  = COALESCE($9, legal_basis),
           notes        = CASE WHEN $10::boolean THEN $11 ELSE notes END,
           review_by    = CASE WHEN $12::boolean THEN $13::date ELSE review_by END,
           updated_at   = now()
         WHERE id = $1`,
        [
          id,
          patch.displayName ?? null,
          patch.category ?? null,
          patch.watchlistId ?? null,
          'externalRef' in patch,
          patch.externalRef ?? null,
          'caseRef' in patch,
          patch.caseRef ?? null,
          patch.legalBasis ?? null,
          'notes' in patch,
          patch.notes ?? null,
          'reviewBy' in patch,
          patch.reviewBy ?? null,
        ],
      );
      // A move to another watchlist moves the subject's templates with it in the same statement sequence. The trigger
      // subject_watchlist_moved (migration 0042) does it already on one server, so this changes no row there; under Citus,
      // where deploy/citus/distribute.sql drops that trigger (a reference table's trigger cannot write a distributed table),
      // this is what moves them.
      if (r.rowCount && patch.watchlistId) {
        await db.query('UPDATE face SET watchlist_id = $2 WHERE subject_id = $1 AND watchlist_id IS DISTINCT FROM $2', [id, patch.watchlistId]);
      }
      return r.rowCount ? this.get(db, id) : null;
    },

    /**
     * Current names of subjects named by id in stored results (searches, reports, notices keep ids only): erased subjects are
     * absent from the map.
     */
    async names(db: Queryable, ids: string[]): Promise<Map<string, SubjectNames>> {
      if (!ids.length) return new Map();
      const r = await db.query<{ id: string; display_name: string; watchlist: string; watchlist_id: string; organization: string }>(
        `SELECT s.id, s.display_name, w.name AS watchlist, s.watchlist_id, w.organization FROM ${FROM} WHERE s.id = ANY($1::uuid[])`,
        [[...new Set(ids)]],
      );
      return new Map(r.rows.map((x) => [x.id, { displayName: x.display_name, watchlist: x.watchlist, watchlistId: x.watchlist_id, organization: x.organization }]));
    },

    /** Deletes the subject; faces (and their images) go with it by ON DELETE CASCADE in the same statement. */
    async delete(db: Queryable, id: string): Promise<boolean> {
      const r = await db.query('DELETE FROM subject WHERE id = $1', [id]);
      return r.rowCount > 0;
    },
  };
  return repo satisfies SubjectDirectory;
}

export type SubjectRepo = ReturnType<typeof createSubjectRepo>;

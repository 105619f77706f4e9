import type { Box, FaceQuality } from '../../shared/face.types';
import type { Category, FaceRecord, KnnQuery, NeighbourRow, TemplateIndex } from './gallery.model';
import type { Queryable } from '../../shared/db';
import { toVectorParam } from '../../platform/db/db';
import { accessSql } from '../watchlist/watchlist.model';

/**
 * Embedding sizes with an HNSW index (see migrations), and the index's element type: one partial index per size on
 * `embedding::vector(N)`, or `embedding::halfvec(N)` for 512-d (migration 0053: half the memory at the same recall).
 */
export type IndexType = 'vector' | 'halfvec';
const INDEXED: ReadonlyMap<number, IndexType> = new Map([
  [128, 'vector'],
  [512, 'halfvec'],
  [1024, 'vector'],
]);

/**
 * kNN SQL for one embedding size and index type. The dimension is a code constant from INDEXED (the cast must be literal for
 * the planner to match the partial expression index); every value is a bound parameter.
 * The top-k runs inside a CTE ordered by the indexed expression (HNSW, iterative scan so filters still fill k), then keeps
 * each subject's nearest face and re-sorts exactly (relaxed_order may return slightly out of order). The distance returned is
 * always the full-precision one: with a halfvec index the graph only chooses the candidates, which are then re-ranked.
 * Access scope (watchlists the caller owns or holds a live grant for, see watchlist.repo accessSql) is part of this query:
 * `ARRAY(SELECT …)` is uncorrelated, so PostgreSQL computes it once (an InitPlan) and each index row is then checked against
 * the face row's own watchlist_id (kept equal to its subject's by triggers, migration 0042: no subject lookup per visited row).
 * The scope and category filters are per-row, not a join: with a join the planner hash-joins the whole index scan (every
 * template, 124 ms at 20k) before the LIMIT; this way the LIMIT stops the index scan. Figures at 100k and 1M templates:
 * docs/SCALING.md.
 */
export function knnSqlFor(d: number, index: IndexType): string {
  return `WITH nn AS (
       SELECT f.id AS face_id, f.subject_id, f.embedding::vector(${d}) <=> $1::vector(${d}) AS distance
         FROM face f
        WHERE vector_dims(f.embedding) = ${d}
          AND f.model_id = $2
          AND f.watchlist_id = ANY (ARRAY(
                SELECT w.id FROM watchlist w
                 WHERE ${accessSql('$3::text', '$4::text', '$5::timestamptz')} IS NOT NULL
                   AND ($6::uuid[] IS NULL OR w.id = ANY($6::uuid[]))))
          AND ($7::text[] IS NULL OR (SELECT s.category FROM subject s WHERE s.id = f.subject_id) = ANY($7::text[]))
        ORDER BY f.embedding::${index}(${d}) <=> $1::${index}(${d})
        LIMIT $8
     ), best AS (
       SELECT DISTINCT ON (subject_id) face_id, subject_id, distance FROM nn ORDER BY subject_id, distance, face_id
     )
     SELECT b.face_id, b.subject_id, b.distance, s.category, s.watchlist_id, w.organization AS owner,
            (SELECT quality_overruled FROM face WHERE id = b.face_id) AS quality_overruled
       FROM best b JOIN subject s ON s.id = b.subject_id JOIN watchlist w ON w.id = s.watchlist_id
      ORDER BY b.distance, b.subject_id
      LIMIT $9`;
}
const knnSql = new Map<number, string>([...INDEXED].map(([d, index]) => [d, knnSqlFor(d, index)]));

/** Rows fetched per wanted subject before de-duplication (subjects usually hold a few faces). Bounded by ef_search's max 1000. */
const OVERFETCH = 5;

/** The watchlists a search may see (the same access rule as the HNSW statement), as text: the form face_scope_idx is on. */
const SCOPE_SQL = `SELECT ARRAY(SELECT w.id::text FROM watchlist w
                      WHERE ${accessSql('$1::text', '$2::text', '$3::timestamptz')} IS NOT NULL
                        AND ($4::uuid[] IS NULL OR w.id = ANY($4::uuid[]))) AS ids`;

/**
 * How many templates of the model the scope holds, and the whole gallery: read from face_template_count (per model and
 * watchlist, kept by triggers, migration 0060), so choosing the plan costs the same at 1M templates as at 1k.
 */
const SCOPE_COUNT_SQL = `SELECT coalesce(sum(n) FILTER (WHERE watchlist_id::text = ANY ($1::text[])), 0)::int AS scope,
                                coalesce(sum(n), 0)::int AS gallery
                           FROM face_template_count WHERE model_id = $2`;

/**
 * Exact kNN over a small scope: the scope's rows through the btree face_scope_idx, each subject's nearest
 * face, a top-k sort. The distance is on `embedding` itself, not the indexed `embedding::vector(N)` expression, so no HNSW
 * index can serve the ORDER BY. Used when the scope holds few templates: HNSW with a selective filter has to walk the graph
 * past every out-of-scope template (iterative scan) and is then slower than reading the scope, and approximate.
 */
const exactSql = new Map<number, string>(
  [...INDEXED.keys()].map((d) => [
    d,
    `WITH best AS (
       SELECT DISTINCT ON (f.subject_id) f.id AS face_id, f.subject_id, f.embedding <=> $1::vector AS distance
         FROM face f
        WHERE f.watchlist_id::text = ANY ($2::text[])
          AND f.model_id = $3
          AND vector_dims(f.embedding) = ${d}
          AND ($4::text[] IS NULL OR (SELECT s.category FROM subject s WHERE s.id = f.subject_id) = ANY($4::text[]))
        ORDER BY f.subject_id, distance, f.id
     ), top AS (
       SELECT * FROM best ORDER BY distance, subject_id LIMIT $5
     )
     SELECT b.face_id, b.subject_id, b.distance, s.category, s.watchlist_id, w.organization AS owner,
            (SELECT quality_overruled FROM face WHERE id = b.face_id) AS quality_overruled
       FROM top b JOIN subject s ON s.id = b.subject_id JOIN watchlist w ON w.id = s.watchlist_id
      ORDER BY b.distance, b.subject_id`,
  ]),
);

export interface FaceRepoOptions {
  /**
   * Floor for hnsw.ef_search (the HNSW candidate list). Each search uses the larger of this and the rows it fetches, at most
   * 1000 (pgvector's maximum). Unset: the rows fetched.
   */
  efSearch?: number;
  /**
   * Scopes holding at most this many templates of the model, and at most half of the gallery, are searched exactly (no HNSW).
   * Unset: 0, always HNSW.
   */
  exactScopeMax?: number;
}

/** The HNSW kNN statement, its parameters and hnsw.ef_search for one query (exported for scripts/gallery-scale.ts, which times variants of it). */
export function knnStatement(q: KnnQuery, opts: FaceRepoOptions = {}): { sql: string; params: unknown[]; efSearch: number } {
  const sql = knnSql.get(q.embedding.length);
  if (!sql) throw new Error(`no vector index for ${q.embedding.length}-d embeddings`);
  const fetch = Math.min(1000, Math.max(40, q.topK * OVERFETCH));
  const { organization, mode, at, watchlistIds } = q.scope;
  return {
    sql,
    params: [toVectorParam(q.embedding), q.modelId, organization, mode, at, watchlistIds ?? null, q.categories?.length ? q.categories : null, fetch, q.topK],
    efSearch: Math.min(1000, Math.max(fetch, opts.efSearch ?? 0)),
  };
}

type KnnPlan = { kind: 'empty' } | { kind: 'exact'; sql: string; params: unknown[] } | ({ kind: 'hnsw' } & ReturnType<typeof knnStatement>);

/** Exact scan for a small scope, HNSW otherwise; `empty` when the caller may see no watchlist at all. */
async function planKnn(tx: Queryable, q: KnnQuery, opts: FaceRepoOptions): Promise<KnnPlan> {
  const hnsw = knnStatement(q, opts);
  const max = opts.exactScopeMax ?? 0;
  if (max <= 0) return { kind: 'hnsw', ...hnsw };
  const { organization, mode, at, watchlistIds } = q.scope;
  const ids = (await tx.query<{ ids: string[] }>(SCOPE_SQL, [organization, mode, at, watchlistIds ?? null])).rows[0]!.ids;
  if (!ids.length) return { kind: 'empty' };
  const { scope, gallery } = (await tx.query<{ scope: number; gallery: number }>(SCOPE_COUNT_SQL, [ids, q.modelId])).rows[0]!;
  // Exact only for a scope that is both small and a minority of the gallery: the iterative HNSW scan is slow and approximate
  // only when most of what it walks is out of scope; a small whole gallery is searched faster through its graph.
  if (scope > max || scope * 2 > gallery) return { kind: 'hnsw', ...hnsw };
  return {
    kind: 'exact',
    sql: exactSql.get(q.embedding.length)!,
    params: [hnsw.params[0], ids, q.modelId, q.categories?.length ? q.categories : null, q.topK],
  };
}

/** Runs `plan` with its settings (HNSW: ef_search and iterative scan, SET LOCAL) and returns its rows. */
async function runPlan<R>(tx: Queryable, plan: Exclude<KnnPlan, { kind: 'empty' }>, prefix = ''): Promise<R[]> {
  if (plan.kind === 'hnsw') {
    await tx.query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)", [String(plan.efSearch)]);
  }
  return (await tx.query<R>(prefix + plan.sql, plan.params)).rows;
}

export function createFaceRepo(opts: FaceRepoOptions = {}) {
  const repo = {
    async insert(
      db: Queryable,
      f: {
        id: string;
        subjectId: string;
        modelId: string;
        embedding: number[];
        quality: FaceQuality;
        box: Box;
        source: string | null;
        /** The template this one was re-embedded from (another model, same enrolment photo). */
        derivedFrom?: string;
        /** SHA-256 (hex) of the enrolment photo (bulk enrolment finds what is already enrolled by it). */
        imageSha256?: string;
        /** Enrolled below the quality gate on the enroller's acceptQuality (migration 0120). */
        qualityOverruled?: boolean;
      },
    ): Promise<void> {
      await db.query(
        `INSERT INTO face (id, subject_id, model_id, embedding, quality, box, source, derived_from, image_sha256, quality_overruled)
         VALUES ($1, $2, $3, $4::vector, $5::jsonb, $6::jsonb, $7, $8, $9, $10)`,
        [f.id, f.subjectId, f.modelId, toVectorParam(f.embedding), JSON.stringify(f.quality), JSON.stringify(f.box), f.source, f.derivedFrom ?? null, f.imageSha256 ?? null, f.qualityOverruled ?? false],
      );
    },

    /**
     * Templates of other models that have a stored enrolment photo and no template of `modelId` derived from them yet:
     * what re-embedding for `modelId` still has to do. Keyset-paged by id (`afterId`), so a template that cannot be re-embedded
     * does not block the ones after it.
     */
    async pendingReembed(db: Queryable, modelId: string, limit: number, afterId = '00000000-0000-0000-0000-000000000000') {
      const r = await db.query<{ id: string; subject_id: string; model_id: string; box: Box; source: string | null }>(
        `SELECT f.id, f.subject_id, f.model_id, f.box, f.source FROM face f
          WHERE f.model_id <> $1
            AND EXISTS (SELECT 1 FROM face_image i WHERE i.face_id = f.id AND i.variant = 'original')
            AND NOT EXISTS (SELECT 1 FROM face g WHERE g.derived_from = f.id AND g.model_id = $1)
            AND f.id > $3
          ORDER BY f.id
          LIMIT $2`,
        [modelId, limit, afterId],
      );
      return r.rows.map((x) => ({ id: x.id, subjectId: x.subject_id, modelId: x.model_id, box: x.box, source: x.source }));
    },

    async listBySubject(db: Queryable, subjectId: string): Promise<FaceRecord[]> {
      const r = await db.query<{ id: string; subject_id: string; model_id: string; quality: FaceQuality; box: Box; source: string | null; image_sha256: string | null; quality_overruled: boolean; created_at: Date }>(
        'SELECT id, subject_id, model_id, quality, box, source, image_sha256, quality_overruled, created_at FROM face WHERE subject_id = $1 ORDER BY created_at, id',
        [subjectId],
      );
      return r.rows.map((x) => ({
        id: x.id,
        subjectId: x.subject_id,
        modelId: x.model_id,
        quality: x.quality,
        box: x.box,
        source: x.source,
        imageSha256: x.image_sha256,
        qualityOverruled: x.quality_overruled,
        createdAt: new Date(x.created_at).toISOString(),
      }));
    },

    async delete(db: Queryable, subjectId: string, faceId: string): Promise<boolean> {
      return (await db.query('DELETE FROM face WHERE id = $1 AND subject_id = $2', [faceId, subjectId])).rowCount > 0;
    },

    /** Must run inside a transaction: the index settings are SET LOCAL. */
    async nearestSubjects(tx: Queryable, q: KnnQuery): Promise<NeighbourRow[]> {
      const plan = await planKnn(tx, q, opts);
      if (plan.kind === 'empty') return [];
      const rows = await runPlan<{ face_id: string; subject_id: string; distance: number; category: Category; watchlist_id: string; owner: string; quality_overruled: boolean }>(tx, plan);
      return rows.map((x) => ({
        faceId: x.face_id,
        subjectId: x.subject_id,
        category: x.category,
        watchlistId: x.watchlist_id,
        owner: x.owner,
        distance: Number(x.distance),
        qualityOverruled: x.quality_overruled === true,
      }));
    },

    /** The plan of the very statement nearestSubjects runs (same SQL, same settings): for the index-use check on PostgreSQL. */
    async explainNearest(tx: Queryable, q: KnnQuery, analyze = false): Promise<string> {
      const plan = await planKnn(tx, q, opts);
      if (plan.kind === 'empty') return 'no watchlist in scope: no statement runs';
      const rows = await runPlan<{ 'QUERY PLAN': string }>(tx, plan, `EXPLAIN ${analyze ? '(ANALYZE, BUFFERS) ' : ''}`);
      return rows.map((x) => x['QUERY PLAN']).join('\n');
    },

    /** All templates of one subject for one model, with their distance to the probe (1:1 verification). */
    async distancesForSubject(db: Queryable, subjectId: string, modelId: string, embedding: number[]) {
      const r = await db.query<{ id: string; distance: number }>(
        `SELECT id, embedding <=> $3::vector AS distance FROM face
          WHERE subject_id = $1 AND model_id = $2 AND vector_dims(embedding) = $4
          ORDER BY distance, id`,
        [subjectId, modelId, toVectorParam(embedding), embedding.length],
      );
      return r.rows.map((x) => ({ faceId: x.id, distance: Number(x.distance) }));
    },

    /** Templates of one model (or of all): read from face_template_count, kept by triggers (migration 0060), not counted. */
    async countTemplates(db: Queryable, modelId?: string): Promise<number> {
      const r = await db.query<{ n: number }>(
        'SELECT coalesce(sum(n), 0)::int AS n FROM face_template_count WHERE ($1::text IS NULL OR model_id = $1)',
        [modelId ?? null],
      );
      return r.rows[0]?.n ?? 0;
    },

    async putImage(db: Queryable, img: { faceId: string; variant: 'original' | 'crop'; mediaType: string; keyId: string; nonce: Buffer; ciphertext: Buffer }) {
      await db.query(
        'INSERT INTO face_image (face_id, variant, media_type, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4, $5, $6)',
        [img.faceId, img.variant, img.mediaType, img.keyId, img.nonce, img.ciphertext],
      );
    },

    async getImage(db: Queryable, subjectId: string, faceId: string, variant: 'original' | 'crop') {
      const r = await db.query<{ media_type: string; key_id: string; nonce: Uint8Array; ciphertext: Uint8Array }>(
        `SELECT i.media_type, i.key_id, i.nonce, i.ciphertext FROM face_image i JOIN face f ON f.id = i.face_id
          WHERE f.subject_id = $1 AND i.face_id = $2 AND i.variant = $3`,
        [subjectId, faceId, variant],
      );
      const x = r.rows[0];
      return x ? { mediaType: x.media_type, keyId: x.key_id, nonce: Buffer.from(x.nonce), ciphertext: Buffer.from(x.ciphertext) } : null;
    },

    async countForSubject(db: Queryable, subjectId: string): Promise<{ faces: number; images: number }> {
      const r = await db.query<{ faces: number; images: number }>(
        `SELECT (SELECT count(*)::int FROM face WHERE subject_id = $1) AS faces,
                (SELECT count(*)::int FROM face_image i JOIN face f ON f.id = i.face_id WHERE f.subject_id = $1) AS images`,
        [subjectId],
      );
      return r.rows[0] ?? { faces: 0, images: 0 };
    },
  };
  return repo satisfies TemplateIndex;
}

export type FaceRepo = ReturnType<typeof createFaceRepo>;

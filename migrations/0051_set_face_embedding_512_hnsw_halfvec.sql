-- The 512-d HNSW index (0007) holds its elements as halfvec (16-bit floats): half the size (1M templates: 1.3 GB instead of
-- 2.6 GB, as big as the table itself before) at the same recall@10 against exact search and no slower (docs/SCALING.md,
-- "Gallery at scale"). The table keeps full-precision vectors: face.repo orders the HNSW scan by the halfvec expression and
-- re-ranks the candidates it fetched by their full-precision distance, so returned distances and scores do not change.
-- m and ef_construction stay pgvector's defaults (16, 64), written out: at 100k, m = 24 / ef_construction = 128 took 3.3× as
-- long to build for a recall gain that a larger hnsw.ef_search (KNN_EF_SEARCH) buys at query time.
-- Rebuilding takes a while on a large gallery (1M 512-d templates: about 20 min on 2 busy cores) and blocks enrolment
-- meanwhile: run `npm run migrate` in a maintenance window there.
DROP INDEX face_embedding_512_hnsw;
CREATE INDEX face_embedding_512_hnsw ON face USING hnsw ((embedding::halfvec(512)) halfvec_cosine_ops)
  WITH (m = 16, ef_construction = 64)
  WHERE vector_dims(embedding) = 512;

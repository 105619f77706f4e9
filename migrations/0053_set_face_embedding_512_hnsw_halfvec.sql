-- The 512-d HNSW index (0007) holds its elements as halfvec (16-bit floats) and is built with m = 24, ef_construction = 128
-- (pgvector's defaults were 16 and 64). Measured on face-like templates (scripts/gallery-scale.ts, docs/SCALING.md "Gallery
-- at scale"): halfvec gave the same recall@10 against exact search as vector at half the size (1M templates: 1.3 GB instead
-- of 2.6 GB, as big as the table itself) and a shorter build; with m = 16 / ef_construction = 64, recall@10 at 1M was
-- 0.81 at ef_search 100 and 0.95 at 400, short of the 0.99 target, while at 100k m = 24 / ef_construction = 128 lifted it
-- from 0.97 to 0.997 at ef_search 100 (building took 3.3× as long).
-- The table keeps full-precision vectors: face.repo orders the HNSW scan by the halfvec expression and re-ranks the
-- candidates it fetched by their full-precision distance, so returned distances and scores do not change.
-- Rebuilding takes long on a large gallery (1M 512-d templates: 13 min as halfvec with m = 16 on 2 busy cores; expect about
-- three times that with these settings) and blocks enrolment meanwhile: run `npm run migrate` in a maintenance window there.
DROP INDEX face_embedding_512_hnsw;
CREATE INDEX face_embedding_512_hnsw ON face USING hnsw ((embedding::halfvec(512)) halfvec_cosine_ops)
  WITH (m = 24, ef_construction = 128)
  WHERE vector_dims(embedding) = 512;

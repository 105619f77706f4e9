-- The 1024-d HSE FaceRes templates (models/*faceres*.manifest.json) get their own partial HNSW index, the same pattern as
-- the 128-d one in 0001: the kNN query casts to vector(1024) and filters on vector_dims, so the planner uses this index.
CREATE INDEX face_embedding_1024_hnsw ON face USING hnsw ((embedding::vector(1024)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 1024;

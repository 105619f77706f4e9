-- The 512-d templates of the ONNX default model (models/ultraface-mfn512.manifest.json) and of ArcFace-convention models a
-- deployment brings get their own partial HNSW index, the pattern of 0001 (128-d) and 0005 (1024-d). A 512-d vector is 2 KB
-- plus header, so 0006's SET STORAGE PLAIN keeps it in the row, where the planner costs the index scan correctly.
CREATE INDEX face_embedding_512_hnsw ON face USING hnsw ((embedding::vector(512)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 512;

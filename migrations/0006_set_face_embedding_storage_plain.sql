-- Keep templates in the table row instead of TOAST. A 1024-d vector (4 KB) is above the 2 KB TOAST threshold, so by default it
-- is stored out of line; PostgreSQL's sequential-scan cost ignores TOAST, so the planner then judged a full scan + sort cheaper
-- than the HNSW index and searched 20,000 FaceRes templates in 95 ms (PostgreSQL) / 147 ms (PGlite) instead of a few ms
-- (`npm run bench`; pgvector's maintainers give this remedy in pgvector#353/#784). 128-d templates were inline already.
-- Applies to rows written from now on; VACUUM FULL face rewrites rows stored before.
ALTER TABLE face ALTER COLUMN embedding SET STORAGE PLAIN;

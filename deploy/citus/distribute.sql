-- Distributes a migrated FaceMatch database with Citus (docs/SCALING.md, "Past one PostgreSQL: partitions and Citus").
-- A documented path, NOT RUN: Citus is not installable where FaceMatch is developed (not in Debian's archive, no other
-- package source reachable). What can be checked without it is: test/integration/citus-readiness.test.ts reads the catalog
-- of a migrated database and checks the rules below (every unique key of a distributed table holds its distribution
-- column; foreign keys only where Citus accepts them; the exceptions handled here), and that this file distributes and
-- replicates exactly the tables it classifies.
--
-- Run once, as a superuser on the coordinator, after `npm run migrate` and before the service starts, with the workers
-- added (deploy/citus/compose.yaml does: citus_add_node for each worker). Needs citus and vector in the database on the
-- coordinator and on every worker (CREATE EXTENSION on the coordinator propagates).
--
-- The choice:
--  * distributed, co-located: face by id, face_image by face_id. The gallery is what outgrows one server (≈ 4–5 GB per
--    million templates must stay cached); a 1:N kNN reads all of it whatever the distribution column, so each shard answers
--    with its own HNSW graph and the coordinator merges. face id is the column every existing key of both tables already
--    holds (primary keys face(id), face_image(face_id, variant); the FK face_image → face), and random uuids spread evenly.
--    Reads of one subject's faces (verify, erasure, listing) fan out to every shard: rare next to searches.
--  * reference (on every node): subject, watchlist, watchlist_grant and the federation partner tables: the kNN's scope
--    filter and its join read them on every shard. subject is the largest (≈ 200 bytes a row).
--  * local, on the coordinator: the audit chain (one sequence, one append lock), search and everything keyed by it
--    (review, probe_face_image, hit_notice, webhook_*, federation_request, screening_job and its items: the job queue,
--    audit_text: the free text beside the chain),
--    keys, rate buckets, policies, bookkeeping.
--
-- Caveat for searches (src/modules/search/search.service.ts): Citus has no distributed snapshot. A search's REPEATABLE READ
-- snapshot is taken per node when the node is first touched, so a gallery change committing during a search's kNN can be
-- visible on some shards and not others: the recorded gallery position is then exact only to within the changes committed
-- during that kNN. Erasures and revoked access are still caught (the search re-checks its candidates under the append lock
-- before storing them); an enrolment may be half-seen. Measure and accept, or search under the lock on Citus.

\set ON_ERROR_STOP on
BEGIN;

-- Exceptions the single-server schema has (test/integration/citus-readiness.test.ts lists the same ones):
-- 1. face.derived_from references face(id) off the distribution column: dropped; the column stays as a plain reference.
ALTER TABLE face DROP CONSTRAINT face_derived_from_fkey;
-- 2. subject_watchlist_moved, a row trigger on subject (a reference table) writing face (distributed): dropped; subject.repo
--    update moves the subject's templates itself in the same transaction.
DROP TRIGGER subject_watchlist_moved ON subject;
-- 3. face_template_count kept by statement triggers with transition tables on face: not supported on a distributed table.
--    Dropped; the same relation becomes a view counting the gallery (a fan-out count per search: correct, slower).
DROP TRIGGER face_template_count_ins ON face;
DROP TRIGGER face_template_count_del ON face;
DROP TRIGGER face_template_count_upd ON face;
DROP TABLE face_template_count;
CREATE VIEW face_template_count AS SELECT model_id, watchlist_id, count(*)::bigint AS n FROM face GROUP BY model_id, watchlist_id;
-- 4. face_watchlist_on_write, a BEFORE row trigger on face reading subject: every worker holds subject (reference), so it
--    runs per shard; Citus refuses triggers on distributed tables unless told otherwise.
SET citus.enable_unsafe_triggers = on;
COMMIT;

-- Reference tables, referenced ones first.
SELECT create_reference_table('watchlist');
SELECT create_reference_table('subject');
SELECT create_reference_table('watchlist_grant');
SELECT create_reference_table('federation_partner');
SELECT create_reference_table('federation_partner_key');
SELECT create_reference_table('federation_grant_terms');

-- The gallery. Existing rows are copied into the shards; indexes (the HNSW graph per shard) are built on each.
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('face', 'id');
SELECT create_distributed_table('face_image', 'face_id', colocate_with => 'face');

-- The service role (deploy/grant-service-role.sql) needs the view's read grant again (the table it replaces had it).
GRANT SELECT ON face_template_count TO facematch_service;

-- Batch screening jobs (docs/batch-screening.md): a batch of photos submitted at once, searched in the background one item at
-- a time through the ordinary search path. The queue is the item table itself: an instance takes a pending item with
-- FOR UPDATE SKIP LOCKED and leases it (lease_id, lease_until on the database clock); a lease that runs out (its instance
-- died) lets another instance take the item again. Only the holder of the live lease records the item's outcome, in the
-- same transaction as the search (search_id) or its refused attempt, so an item is searched and recorded at most once.
CREATE TABLE screening_job (
  id            uuid PRIMARY KEY,
  organization  text NOT NULL,
  key_id        uuid NOT NULL,
  purpose       text NOT NULL,
  case_ref      text NOT NULL,
  -- The search parameters every item is searched with (mode, topK, thresholds, watchlists, categories, detail).
  params        jsonb NOT NULL,
  status        text NOT NULL CHECK (status IN ('queued', 'done', 'cancelled')),
  items_total   int NOT NULL CHECK (items_total >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
CREATE INDEX screening_job_active_idx ON screening_job (key_id) WHERE status = 'queued';
CREATE INDEX screening_job_org_created_idx ON screening_job (organization, created_at, id);

CREATE TABLE screening_job_item (
  job_id        uuid NOT NULL REFERENCES screening_job (id),
  seq           int NOT NULL CHECK (seq >= 1),
  -- The client's own reference for the item (the manifest's clientRef), and the uploaded file's name as sent.
  client_ref    text,
  file_name     text,
  -- The upload's file under the job's folder while the item waits; null once the item is final (the photo is removed then).
  stored_file   text,
  status        text NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
  lease_id      uuid,
  lease_until   timestamptz,
  attempts      int NOT NULL DEFAULT 0,
  search_id     uuid UNIQUE,
  error_code    text,
  error_message text,
  -- What the item's search found, without names (those are joined from the stored search when results are read):
  -- {facesDetected, candidates, humanReviewRequired}.
  summary       jsonb,
  finished_at   timestamptz,
  PRIMARY KEY (job_id, seq),
  CHECK ((status = 'done') = (search_id IS NOT NULL)),
  CHECK (status <> 'failed' OR error_code IS NOT NULL)
);
CREATE INDEX screening_job_item_pending_idx ON screening_job_item (job_id, seq) WHERE status = 'pending';

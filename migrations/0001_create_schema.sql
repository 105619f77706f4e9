-- FaceMatch schema: the watchlist gallery, searches, API keys and the append-only audit chain.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE subject (
  id            uuid PRIMARY KEY,
  display_name  text NOT NULL,
  category      text NOT NULL CHECK (category IN ('fraud', 'money_laundering', 'sanctions', 'other')),
  watchlist     text NOT NULL,
  external_ref  text,
  case_ref      text,
  legal_basis   text NOT NULL,
  notes         text,
  review_by     date,
  organization  text NOT NULL,          -- organization of the key that enrolled the subject
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subject_watchlist_category_idx ON subject (watchlist, category);
CREATE INDEX subject_created_idx ON subject (created_at, id);

-- One row per enrolled face template. `embedding` has no fixed dimension so templates of several models can coexist
-- (a model change re-embeds gradually); searches always filter on model_id and compare like with like.
-- Each embedding size gets its own partial HNSW index on the dimension-cast expression (pgvector's documented pattern).
CREATE TABLE face (
  id          uuid PRIMARY KEY,
  subject_id  uuid NOT NULL REFERENCES subject (id) ON DELETE CASCADE,
  model_id    text NOT NULL,
  embedding   vector NOT NULL,
  quality     jsonb NOT NULL,
  box         jsonb NOT NULL,
  source      text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX face_subject_idx ON face (subject_id);
CREATE INDEX face_model_idx ON face (model_id);
CREATE INDEX face_embedding_128_hnsw ON face USING hnsw ((embedding::vector(128)) vector_cosine_ops)
  WHERE vector_dims(embedding) = 128;

CREATE TABLE api_key (
  id            uuid PRIMARY KEY,
  lookup        text NOT NULL UNIQUE,   -- first 16 hex chars of SHA-256(token): finds the row, cannot verify it
  secret_hash   text NOT NULL,          -- scrypt$N$r$p$salt$hash
  roles         text[] NOT NULL,
  organization  text NOT NULL,
  label         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);

CREATE TABLE search (
  id            uuid PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('search', 'verify')),
  organization  text NOT NULL,
  key_id        uuid NOT NULL,
  mode          text NOT NULL,
  purpose       text NOT NULL,
  case_ref      text NOT NULL,
  probe_sha256  text NOT NULL,          -- the probe image itself is never stored
  model_id      text NOT NULL,
  params        jsonb NOT NULL,
  result        jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_org_created_idx ON search (organization, created_at, id);
CREATE INDEX search_case_ref_idx ON search (case_ref);

-- hash = SHA-256(prev_hash || canonical JSON of {seq, at, actor, type, subjectIds, searchId, payload}).
CREATE TABLE audit_event (
  seq          bigint PRIMARY KEY,
  at           timestamptz NOT NULL,
  actor        jsonb NOT NULL,
  type         text NOT NULL,
  subject_ids  uuid[] NOT NULL DEFAULT '{}',
  search_id    uuid,
  payload      jsonb NOT NULL,
  prev_hash    text NOT NULL,
  hash         text NOT NULL UNIQUE
);
CREATE INDEX audit_event_at_idx ON audit_event (at);
CREATE INDEX audit_event_type_idx ON audit_event (type, seq);
CREATE INDEX audit_event_subject_idx ON audit_event USING gin (subject_ids);

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % rejected', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

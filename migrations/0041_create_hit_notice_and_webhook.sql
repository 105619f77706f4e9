-- Hit notices to a watchlist's owner when another organization's search returns one of its subjects at or above the screening
-- threshold, written in the search's transaction; and the webhook outbox delivering them (issue 13).
-- A notice keeps ids only (no names, notes or images): an erased subject leaves its id behind, nothing else about it.
CREATE TABLE hit_notice (
  id                      uuid PRIMARY KEY,
  at                      timestamptz NOT NULL,
  organization            text NOT NULL,       -- the watchlist owner, who reads the notice
  watchlist_id            uuid NOT NULL,       -- no foreign key: a deleted watchlist leaves its notices as the record
  subject_id              uuid NOT NULL,
  search_id               uuid NOT NULL REFERENCES search (id),
  searching_organization  text NOT NULL,
  mode                    text NOT NULL,
  similarity              double precision NOT NULL,
  estimated_fmr           double precision NOT NULL,
  purpose                 text NOT NULL,
  case_ref                text NOT NULL
);
CREATE INDEX hit_notice_org_at_idx ON hit_notice (organization, at, id);
CREATE INDEX hit_notice_watchlist_idx ON hit_notice (watchlist_id);

-- One webhook per organization. The secret is sealed with the service's AES-256-GCM key (it must be readable to sign, so it
-- cannot be hashed); url is where notices are POSTed.
CREATE TABLE webhook (
  organization   text PRIMARY KEY,
  url            text NOT NULL,
  secret_key_id  text NOT NULL,
  secret_nonce   bytea NOT NULL,
  secret_sealed  bytea NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per notice to deliver, created with the notice. The worker claims due rows, POSTs, and records each try.
CREATE TABLE webhook_delivery (
  id               uuid PRIMARY KEY,
  notice_id        uuid NOT NULL REFERENCES hit_notice (id),
  organization     text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempt (
  delivery_id  uuid NOT NULL REFERENCES webhook_delivery (id),
  attempt      integer NOT NULL,
  at           timestamptz NOT NULL,
  url          text NOT NULL,
  http_status  integer,                 -- null when no response (refused, timed out)
  error        text,
  PRIMARY KEY (delivery_id, attempt)
);

-- Reverse screening on enrolment (issue 22 #3). A bank that holds a live grant to another organization's watchlist may have its
-- own customer gallery (a watchlist of kind `customers`) screened against every subject the owner enrols there from then on:
-- the new template is the probe of a screening search by the bank, over the bank's customers watchlist only, with hit notices
-- to the bank (and, as for any screening hit, to the owner), and an event on each side of the audit chain.
--
-- A `customers` watchlist holds an institution's own clients, not subjects of an investigation: it can never be granted.
ALTER TABLE watchlist ADD COLUMN kind text NOT NULL DEFAULT 'watchlist' CHECK (kind IN ('watchlist', 'customers'));

-- One per grant, set by an admin of the receiving organization: which of its customers watchlists is screened, under what
-- stated purpose and case reference (every search has both), and the key that enabled it (the searches are that key's).
-- Goes with the grant or the customers watchlist; while the grant is not live (pending, revoked, declined, expired) nothing runs.
CREATE TABLE reverse_screening (
  grant_id                uuid PRIMARY KEY REFERENCES watchlist_grant (id) ON DELETE CASCADE,
  customers_watchlist_id  uuid NOT NULL REFERENCES watchlist (id) ON DELETE CASCADE,
  purpose                 text NOT NULL,
  case_ref                text NOT NULL,
  key_id                  text NOT NULL,
  holder                  text,
  enabled_at              timestamptz NOT NULL
);

-- The queue: one row per (new template, enabled grant), written in the enrolment's transaction, so a screening owed is never
-- lost across a crash; done_at and search_id are set in the screening search's own transaction (exactly once), or done_at and
-- skipped when it could no longer run (the grant ended, the template was deleted, the model changed, the purpose is refused).
-- The enrolling key is kept for the owner's side of the audit trail. face_id has no foreign key (face is distributed under
-- Citus, this queue stays on the coordinator): a template deleted or erased before its screening ran is skipped.
CREATE TABLE reverse_screening_task (
  id                uuid PRIMARY KEY,
  face_id           uuid NOT NULL,
  grant_id          uuid NOT NULL REFERENCES watchlist_grant (id) ON DELETE CASCADE,
  enrolled_by       jsonb NOT NULL,
  created_at        timestamptz NOT NULL,
  done_at           timestamptz,
  search_id         uuid,
  skipped           text
);
CREATE INDEX reverse_screening_task_pending_idx ON reverse_screening_task (created_at, id) WHERE done_at IS NULL;

-- A notice caused by a reverse screening says so: which grant, and the owner's subject and template that were the probe.
ALTER TABLE hit_notice ADD COLUMN reverse jsonb;

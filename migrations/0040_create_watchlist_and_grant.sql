-- Watchlists become records owned by one organization and shared with others by grant (issue 13, API.md "Watchlists").
-- Every subject belongs to exactly one watchlist. Today's free-text names become watchlists owned by the organization that
-- enrolled their subjects: one watchlist per distinct (organization, name), so two organizations that both wrote "general"
-- get one each and nothing is shared by accident.
CREATE TABLE watchlist (
  id              uuid PRIMARY KEY,
  organization    text NOT NULL,
  name            text NOT NULL,
  description     text,
  jurisdiction    text NOT NULL,
  legal_basis     text NOT NULL,
  retention_days  integer CHECK (retention_days > 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization, name)
);

-- A grant lets another organization search (`search`: both modes) or screen (`screen`: mode=screening only) one watchlist.
-- Revocation sets revoked_at (the row stays: oversight statistics and the audit chain refer to it); a grant is live when
-- not revoked and not expired.
CREATE TABLE watchlist_grant (
  id            uuid PRIMARY KEY,
  watchlist_id  uuid NOT NULL REFERENCES watchlist (id) ON DELETE CASCADE,
  organization  text NOT NULL,
  access        text NOT NULL CHECK (access IN ('search', 'screen')),
  expires_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE UNIQUE INDEX watchlist_grant_live_uq ON watchlist_grant (watchlist_id, organization) WHERE revoked_at IS NULL;
CREATE INDEX watchlist_grant_org_idx ON watchlist_grant (organization) WHERE revoked_at IS NULL;

INSERT INTO watchlist (id, organization, name, jurisdiction, legal_basis, created_at)
SELECT md5(s.organization || '/' || s.watchlist)::uuid, s.organization, s.watchlist, 'unspecified',
       'migrated from the free-text watchlist name; the legal basis of each subject is kept on the subject', min(s.created_at)
  FROM subject s
 GROUP BY s.organization, s.watchlist;

ALTER TABLE subject ADD COLUMN watchlist_id uuid REFERENCES watchlist (id);
UPDATE subject s SET watchlist_id = w.id FROM watchlist w WHERE w.organization = s.organization AND w.name = s.watchlist;
ALTER TABLE subject ALTER COLUMN watchlist_id SET NOT NULL;
DROP INDEX subject_watchlist_category_idx;
ALTER TABLE subject DROP COLUMN watchlist;
CREATE INDEX subject_watchlist_category_idx ON subject (watchlist_id, category);

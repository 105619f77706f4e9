-- A grant to another organization is an offer until an admin of that organization accepts it (issue 27 #10): until then it
-- gives the receiving organization nothing (the access rule counts accepted grants only), and the owner learns nothing of the
-- receiver's searches. The receiving organization may also decline it, pending or accepted; a declined grant, like a revoked
-- one, stays on record and frees the (watchlist, organization) pair for a new grant.
--
-- Grants that exist when this runs were made under the earlier rule (live from creation) and are in use: their grantees'
-- searches, reviews and the owners' notices depend on them. They are recorded as accepted at their creation, so upgrading
-- changes no one's access; the owner can still revoke them and the receiving organization can now decline them.
ALTER TABLE watchlist_grant ADD COLUMN accepted_at timestamptz;
ALTER TABLE watchlist_grant ADD COLUMN declined_at timestamptz;
UPDATE watchlist_grant SET accepted_at = created_at;
ALTER TABLE watchlist_grant ADD CONSTRAINT watchlist_grant_answered_once CHECK (accepted_at IS NULL OR declined_at IS NULL OR declined_at >= accepted_at);

DROP INDEX watchlist_grant_live_uq;
CREATE UNIQUE INDEX watchlist_grant_live_uq ON watchlist_grant (watchlist_id, organization) WHERE revoked_at IS NULL AND declined_at IS NULL;
DROP INDEX watchlist_grant_org_idx;
CREATE INDEX watchlist_grant_org_idx ON watchlist_grant (organization) WHERE revoked_at IS NULL AND declined_at IS NULL;

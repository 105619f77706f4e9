-- docs/OVERSIGHT.md's grants for the running service, applied after every migration run by the table owner (compose.yaml's
-- `grants` step; run it by hand after `npm run migrate` elsewhere). Idempotent. Tables added by later migrations are covered
-- because the grants are re-applied to all tables; the audit tables are then narrowed to insert-only.
GRANT USAGE ON SCHEMA public TO facematch_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO facematch_service;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO facematch_service;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migration FROM facematch_service;   -- /readyz only reads it
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_anchor FROM facematch_service;  -- the audit trail is append-only

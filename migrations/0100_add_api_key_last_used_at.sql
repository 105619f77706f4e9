-- When each API key last authenticated, to the minute (key.service writes it at most once a minute per key): the console's key
-- list shows it, so an admin sees which keys are idle before revoking them. Not audited: use, unlike a change, is frequent.
ALTER TABLE api_key ADD COLUMN last_used_at timestamptz;

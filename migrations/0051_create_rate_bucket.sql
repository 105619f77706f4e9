-- Token buckets of the HTTP rate limits, shared by every instance on one PostgreSQL (src/platform/http/rate-limit.ts). One row per
-- (rate, key or client address); each decision is one INSERT … ON CONFLICT DO UPDATE, atomic under the row lock.
-- UNLOGGED: no WAL per request, not replicated; a crash empties the table, which only refills every bucket (a bucket that is
-- absent is a full one). fillfactor leaves room for HOT updates (no indexed column changes on a decision).
-- Times are milliseconds since the epoch as float8, the same arithmetic as the in-memory store.
CREATE UNLOGGED TABLE rate_bucket (
  per_minute integer NOT NULL,
  bucket     text NOT NULL,
  tokens     double precision NOT NULL,
  at         double precision NOT NULL,
  allowed    boolean NOT NULL,
  PRIMARY KEY (per_minute, bucket)
) WITH (fillfactor = 70);

-- Webhook delivery across instances and secret rotation.
-- A delivery is leased by the instance that sends it (lease_id, lease_until on the database clock): nobody else claims it
-- until the lease ends, and only the lease holder records the attempt, so a notice is POSTed by one instance at a time and
-- an attempt is recorded once. The lease outlives the request's total timeout.
ALTER TABLE webhook_delivery ADD COLUMN lease_id uuid;
ALTER TABLE webhook_delivery ADD COLUMN lease_until timestamptz;
CREATE INDEX webhook_delivery_leased_idx ON webhook_delivery (organization) WHERE lease_id IS NOT NULL;

-- What the organization's admin sees of an attempt: a class (delivered, refused, timeout, http_5xx …), never a foreign
-- service's status line or body. http_status stays for the operator.
ALTER TABLE webhook_attempt ADD COLUMN outcome text;

-- Secret rotation: the previous secret keeps signing (a second signature) until previous_valid_until.
ALTER TABLE webhook ADD COLUMN previous_secret_key_id text;
ALTER TABLE webhook ADD COLUMN previous_secret_nonce bytea;
ALTER TABLE webhook ADD COLUMN previous_secret_sealed bytea;
ALTER TABLE webhook ADD COLUMN previous_valid_until timestamptz;

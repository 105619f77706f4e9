-- Federation between deployments (docs/federation.md): partner deployments registered by the operator, their Ed25519 keys
-- with validity, the nonces of signed requests already seen, the terms of watchlist grants to partner deployments, and the
-- federated searches this deployment sent.

-- A partner deployment. Its searches here run as organization `partner:<id>` (a name no API key or ordinary grant can carry:
-- organizations are letters, digits, . _ -), so watchlist_grant rows to that organization are what it may search.
CREATE TABLE federation_partner (
  id              uuid PRIMARY KEY,
  name            text NOT NULL UNIQUE,
  jurisdiction    text NOT NULL,
  base_url        text NOT NULL,
  -- PEM of the CA that issued the partner's TLS certificate (null: the system's trust store).
  ca_certificate  text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- Set when the operator removes the partner: its keys are refused from then on; the row stays for the audit record.
  removed_at      timestamptz
);

-- A partner's public key. key_id is derived from the key (SHA-256 of the raw key, first 16 bytes, base64url): the `keyid` its
-- signatures name. A signature is accepted while valid_from <= created < valid_until (null: no end yet). Adding a newer key
-- ends the older ones after the configured overlap.
CREATE TABLE federation_partner_key (
  key_id       text PRIMARY KEY,
  partner_id   uuid NOT NULL REFERENCES federation_partner (id),
  public_key   text NOT NULL,
  valid_from   timestamptz NOT NULL,
  valid_until  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX federation_partner_key_partner_idx ON federation_partner_key (partner_id, valid_from);

-- Nonces of accepted signed requests, per key: a second request with the same nonce is a replay. In the database so every
-- instance of the deployment refuses it. Rows older than twice the clock-skew bound can go: their signatures are expired.
CREATE TABLE federation_nonce (
  key_id   text NOT NULL,
  nonce    text NOT NULL,
  seen_at  timestamptz NOT NULL,
  PRIMARY KEY (key_id, nonce)
);
CREATE INDEX federation_nonce_seen_idx ON federation_nonce (seen_at);

-- What a grant to a partner deployment discloses besides hit / no hit: names, face crops, and whom the partner contacts.
-- Access, expiry and revocation stay on the watchlist_grant row (one access rule for every search).
CREATE TABLE federation_grant_terms (
  grant_id        uuid PRIMARY KEY REFERENCES watchlist_grant (id) ON DELETE CASCADE,
  partner_id      uuid NOT NULL REFERENCES federation_partner (id),
  disclose_names  boolean NOT NULL,
  disclose_crops  boolean NOT NULL,
  contact         text NOT NULL
);
CREATE INDEX federation_grant_terms_partner_idx ON federation_grant_terms (partner_id);

-- A federated search this deployment sent: the local search it ran beside, who asked and why, and each partner's answer.
CREATE TABLE federation_request (
  id            uuid PRIMARY KEY,
  search_id     uuid REFERENCES search (id),
  organization  text NOT NULL,
  key_id        text NOT NULL,
  holder        text NOT NULL,
  purpose       text NOT NULL,
  case_ref      text NOT NULL,
  mode          text NOT NULL,
  partners      jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  completed_at  timestamptz
);
CREATE INDEX federation_request_org_idx ON federation_request (organization, created_at, id);

-- A hit notice caused by a partner deployment's search names the federation request and who asked there.
ALTER TABLE hit_notice ADD COLUMN federation jsonb;

-- An organization's purpose policy, set by its admin (PUT /v1/purpose-policy): a minimum length at least the deployment's
-- PURPOSE_MIN_LENGTH, and/or the exact purposes its searches may state. No row: the deployment's minimum length alone.
CREATE TABLE purpose_policy (
  organization text PRIMARY KEY,
  min_length   int CHECK (min_length BETWEEN 1 AND 1000),
  allowed      text[] CHECK (allowed IS NULL OR cardinality(allowed) BETWEEN 1 AND 100),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text NOT NULL
);

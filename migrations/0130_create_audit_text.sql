-- Issue 27 #6: the free text of an audit event (a search's purpose and case reference, a review's rationale) kept beside the
-- chain, not in it. Events written from this migration on carry purposeHmac / caseRefHmac / rationaleHmac in their payload:
-- HMAC-SHA-256 keyed with this row's salt (32 random bytes, hex) over the UTF-8 text. Erasure of a subject may redact the
-- text here (and then deletes the salt, so the chain's HMAC no longer confirms a guessed text); the chain is never rewritten.
-- Events written before this migration kept the text in their payload, where it stays.
CREATE TABLE audit_text (
  seq          bigint PRIMARY KEY REFERENCES audit_event (seq),
  salt         text,                    -- null once redacted
  purpose      text,
  case_ref     text,
  rationale    text,
  redacted_at  timestamptz
);
CREATE INDEX audit_text_case_ref_idx ON audit_text (case_ref);

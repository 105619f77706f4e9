-- Issue 29: a watchlist's overrule policy for faces between ENROL_QUALITY_FLOOR and ENROL_MIN_QUALITY. 'on_request' (the
-- default, and the rule for every watchlist before): enrolled when the request sends acceptQuality=true; 'never': refused
-- whatever the request sends; 'always': enrolled and flagged without being asked. Set by the owning organization's admin.
ALTER TABLE watchlist ADD COLUMN enrolment_accept_quality text NOT NULL DEFAULT 'on_request'
  CHECK (enrolment_accept_quality IN ('never', 'on_request', 'always'));

-- The auditor's timeline filters by search (a case file reads a search's events; a case view reads the events of the case's
-- searches), by the case a failed search attempt names in its payload, and by the acting key (a holder's keys). Without these
-- each of those reads scanned the whole chain. Partial: most events name no search and no case.
CREATE INDEX audit_event_search_idx ON audit_event (search_id, seq) WHERE search_id IS NOT NULL;
CREATE INDEX audit_event_case_ref_idx ON audit_event ((payload->>'caseRef'), seq) WHERE payload ? 'caseRef';
CREATE INDEX audit_event_actor_key_idx ON audit_event ((actor->>'keyId'), seq);

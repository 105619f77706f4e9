-- Keys name the person (or system) that uses them: four-eyes counts people, not keys (API.md, keys and reviews).
-- Existing keys get their label as holder (or 'unknown'); the bootstrap admin key becomes 'bootstrap admin'.
ALTER TABLE api_key ADD COLUMN holder text;
UPDATE api_key SET holder = CASE WHEN label LIKE 'bootstrap%' THEN 'bootstrap admin' ELSE COALESCE(NULLIF(btrim(label), ''), 'unknown') END;
ALTER TABLE api_key ALTER COLUMN holder SET NOT NULL;

-- Each decision keeps the holder of the key that made it (as it was then) and the reviewer's feature checklist.
ALTER TABLE review ADD COLUMN holder text;
UPDATE review r SET holder = COALESCE((SELECT k.holder FROM api_key k WHERE k.id = r.key_id), 'unknown');
ALTER TABLE review ALTER COLUMN holder SET NOT NULL;
ALTER TABLE review ADD COLUMN checklist jsonb;
CREATE INDEX review_holder_idx ON review (holder);

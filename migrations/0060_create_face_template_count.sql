-- Templates per model, kept by statement-level triggers, so a search reads its gallery size in O(1). The size is read while the
-- search holds the audit append lock (search.service: the gallery snapshot it records), and count(*) over `face` there grows
-- with the gallery: every search across every instance waited for it. One row per model; each INSERT/DELETE/UPDATE statement on
-- `face` adds its net change per model once (transition tables: a COPY of a million rows is one update, not a million).
-- Lock order: the trigger takes the audit append lock (audit.repo AUDIT_APPEND_LOCK_KEY) before the counter row, the order every
-- audited gallery change takes them anyway (its audit event is appended in the same transaction), so two writers never hold
-- them crosswise.
CREATE TABLE face_template_count (
  model_id text PRIMARY KEY,
  n bigint NOT NULL CHECK (n >= 0)
);
INSERT INTO face_template_count (model_id, n) SELECT model_id, count(*) FROM face GROUP BY model_id;

CREATE FUNCTION face_template_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7406331902);
  IF TG_OP = 'INSERT' THEN
    INSERT INTO face_template_count AS c (model_id, n)
      SELECT model_id, count(*) FROM added GROUP BY model_id
      ON CONFLICT (model_id) DO UPDATE SET n = c.n + EXCLUDED.n;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE face_template_count c SET n = c.n - d.k
      FROM (SELECT model_id, count(*) AS k FROM removed GROUP BY model_id) d WHERE c.model_id = d.model_id;
  ELSE
    -- A template re-embedded under another model moves between rows; updates of other columns net to zero and change nothing.
    -- (Rows for new models first, at 0: an INSERT … ON CONFLICT proposing a negative count would fail the CHECK before the
    -- conflict is resolved.)
    INSERT INTO face_template_count (model_id, n) SELECT DISTINCT model_id, 0 FROM added ON CONFLICT (model_id) DO NOTHING;
    UPDATE face_template_count c SET n = c.n + d.k
      FROM (SELECT model_id, sum(k) AS k FROM (
              SELECT model_id, count(*) AS k FROM added GROUP BY model_id
              UNION ALL SELECT model_id, -count(*) FROM removed GROUP BY model_id) x
            GROUP BY model_id HAVING sum(k) <> 0) d
     WHERE c.model_id = d.model_id;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER face_template_count_ins AFTER INSERT ON face REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION face_template_count_apply();
CREATE TRIGGER face_template_count_del AFTER DELETE ON face REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION face_template_count_apply();
CREATE TRIGGER face_template_count_upd AFTER UPDATE ON face REFERENCING OLD TABLE AS removed NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION face_template_count_apply();

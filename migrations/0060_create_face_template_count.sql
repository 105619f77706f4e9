-- Templates per (model, watchlist), kept by statement-level triggers, so the size of the gallery and of a search's scope are
-- read in O(number of watchlists) instead of counted:
--  * search.service records the gallery size while it holds the audit append lock; count(*) over `face` there grew with the
--    gallery, and every search on every instance waited behind it;
--  * face.repo chooses between the exact scan and HNSW by the scope's size and its share of the gallery (docs/SCALING.md).
-- Each INSERT/DELETE/UPDATE statement on `face` applies its net change per (model, watchlist) once (transition tables: a COPY
-- of a million rows is one statement, not a million counter updates).
-- Lock order: the trigger takes the audit append lock (audit.repo AUDIT_APPEND_LOCK_KEY) before the counter rows, the order
-- every audited gallery change takes them anyway (its audit event is appended in the same transaction), so two writers never
-- hold them crosswise.
CREATE TABLE face_template_count (
  model_id text NOT NULL,
  watchlist_id uuid NOT NULL,
  n bigint NOT NULL CHECK (n >= 0),
  PRIMARY KEY (model_id, watchlist_id)
);
INSERT INTO face_template_count (model_id, watchlist_id, n) SELECT model_id, watchlist_id, count(*) FROM face GROUP BY 1, 2;

CREATE FUNCTION face_template_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7406331902);
  IF TG_OP = 'INSERT' THEN
    INSERT INTO face_template_count AS c (model_id, watchlist_id, n)
      SELECT model_id, watchlist_id, count(*) FROM added GROUP BY 1, 2
      ON CONFLICT (model_id, watchlist_id) DO UPDATE SET n = c.n + EXCLUDED.n;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE face_template_count c SET n = c.n - d.k
      FROM (SELECT model_id, watchlist_id, count(*) AS k FROM removed GROUP BY 1, 2) d
     WHERE c.model_id = d.model_id AND c.watchlist_id = d.watchlist_id;
  ELSE
    -- A template re-embedded under another model, or whose subject moved to another watchlist, moves between rows; updates
    -- of other columns net to zero and change nothing. (Rows for new keys first, at 0: an INSERT … ON CONFLICT proposing a
    -- negative count would fail the CHECK before the conflict is resolved.)
    INSERT INTO face_template_count (model_id, watchlist_id, n) SELECT DISTINCT model_id, watchlist_id, 0 FROM added
      ON CONFLICT (model_id, watchlist_id) DO NOTHING;
    UPDATE face_template_count c SET n = c.n + d.k
      FROM (SELECT model_id, watchlist_id, sum(k) AS k FROM (
              SELECT model_id, watchlist_id, count(*) AS k FROM added GROUP BY 1, 2
              UNION ALL SELECT model_id, watchlist_id, -count(*) FROM removed GROUP BY 1, 2) x
            GROUP BY 1, 2 HAVING sum(k) <> 0) d
     WHERE c.model_id = d.model_id AND c.watchlist_id = d.watchlist_id;
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

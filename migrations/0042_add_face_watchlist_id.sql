-- Each template carries its subject's watchlist, so the kNN scope filter reads it from the face row the HNSW scan fetches anyway
-- instead of looking the subject up for every visited row: a 5 % watchlist at 20k 512-d templates on PostgreSQL went from
-- p50 50 ms to 32 ms (warm; scripts/watchlist-knn-timing.ts). Triggers keep it equal to subject.watchlist_id on every insert
-- path (repositories, bulk SQL) and when a subject moves to another watchlist.
ALTER TABLE face ADD COLUMN watchlist_id uuid;
UPDATE face f SET watchlist_id = s.watchlist_id FROM subject s WHERE s.id = f.subject_id;
ALTER TABLE face ALTER COLUMN watchlist_id SET NOT NULL;

CREATE FUNCTION face_watchlist_from_subject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.watchlist_id := (SELECT s.watchlist_id FROM subject s WHERE s.id = NEW.subject_id);
  RETURN NEW;
END
$$;
CREATE TRIGGER face_watchlist_on_write BEFORE INSERT OR UPDATE OF subject_id, watchlist_id ON face
  FOR EACH ROW EXECUTE FUNCTION face_watchlist_from_subject();

CREATE FUNCTION subject_watchlist_to_faces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE face SET watchlist_id = NEW.watchlist_id WHERE subject_id = NEW.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER subject_watchlist_moved AFTER UPDATE OF watchlist_id ON subject
  FOR EACH ROW WHEN (OLD.watchlist_id IS DISTINCT FROM NEW.watchlist_id) EXECUTE FUNCTION subject_watchlist_to_faces();

-- Issue 23: a long clip searched in the background. A screening job is of photos (each item a photo, as before) or a video
-- job (one item: the clip, searched as POST /v1/searches/video searches it), so a client need not hold one request open for
-- the minutes a long clip takes. Every job before this one was of photos.
ALTER TABLE screening_job ADD COLUMN kind text NOT NULL DEFAULT 'photos' CHECK (kind IN ('photos', 'video'));

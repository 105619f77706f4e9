-- Aligned crops of probe faces, kept AES-256-GCM-encrypted for PROBE_RETENTION_DAYS so reviewers can compare the probe face
-- with the candidate's enrolled face. The whole probe image is never stored. Rows past retention are purged by a periodic
-- job that writes one audit event per purge.
CREATE TABLE probe_face_image (
  search_id   uuid NOT NULL REFERENCES search (id),
  face_index  integer NOT NULL CHECK (face_index >= 0),
  media_type  text NOT NULL,
  key_id      text NOT NULL,     -- which encryption key sealed it
  nonce       bytea NOT NULL,    -- 12 bytes, unique per image
  ciphertext  bytea NOT NULL,    -- AES-256-GCM ciphertext followed by its 16-byte tag
  created_at  timestamptz NOT NULL,  -- the search's time: retention runs from it
  PRIMARY KEY (search_id, face_index)
);
CREATE INDEX probe_face_image_created_idx ON probe_face_image (created_at);

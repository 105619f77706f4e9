-- Enrolled photos and aligned face crops, encrypted at rest with AES-256-GCM (the key never reaches the database).
-- Reviewers compare candidates against these; a model change re-embeds from them. Probe images are never stored.
CREATE TABLE face_image (
  face_id     uuid NOT NULL REFERENCES face (id) ON DELETE CASCADE,
  variant     text NOT NULL CHECK (variant IN ('original', 'crop')),
  media_type  text NOT NULL,
  key_id      text NOT NULL,     -- which encryption key sealed it (SHA-256 prefix of the key), for rotation
  nonce       bytea NOT NULL,    -- 12 bytes, unique per image
  ciphertext  bytea NOT NULL,    -- AES-256-GCM ciphertext followed by its 16-byte tag
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (face_id, variant)
);

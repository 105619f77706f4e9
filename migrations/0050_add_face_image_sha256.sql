-- Bulk enrolment (npm run enrol) resumes against the service itself rather than a local file: a re-run asks which rows are
-- already enrolled, by the subject's external reference and by the SHA-256 of the enrolment photo. Each template now keeps
-- the hash of the photo it was made from (the audit chain already records it in face.enrolled / face.reembedded; existing
-- templates take it from there). A hash of a photo is not a template: it identifies the file, not the face.
ALTER TABLE face ADD COLUMN image_sha256 text;
UPDATE face f SET image_sha256 = e.payload->>'imageSha256'
  FROM audit_event e
 WHERE e.type IN ('face.enrolled', 'face.reembedded') AND e.payload->>'faceId' = f.id::text;
CREATE INDEX face_image_sha256_idx ON face (image_sha256) WHERE image_sha256 IS NOT NULL;
CREATE INDEX subject_external_ref_idx ON subject (watchlist_id, external_ref) WHERE external_ref IS NOT NULL;

-- A template re-embedded with another model from the stored enrolment photo points at the template it was derived from.
-- SET NULL, not CASCADE: retiring the old model's templates must leave the new ones in place.
ALTER TABLE face ADD COLUMN derived_from uuid REFERENCES face (id) ON DELETE SET NULL;
CREATE INDEX face_derived_from_idx ON face (derived_from) WHERE derived_from IS NOT NULL;

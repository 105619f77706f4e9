-- Issue 29: a face enrolled below ENROL_MIN_QUALITY because the enroller sent acceptQuality=true (its quality issues stay in
-- `quality`). False for every template enrolled before: they all passed the gate.
ALTER TABLE face ADD COLUMN quality_overruled boolean NOT NULL DEFAULT false;

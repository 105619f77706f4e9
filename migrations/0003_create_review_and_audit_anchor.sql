-- Four-eyes review decisions on search candidates, and the audit chain anchors an auditor keeps elsewhere.

-- One decision per reviewer key per candidate (search, probe face, subject). subject_id has no foreign key: a subject may be
-- erased later, and the review stays as the record of what was decided about a past search result.
CREATE TABLE review (
  id            uuid PRIMARY KEY,
  search_id     uuid NOT NULL REFERENCES search (id),
  face_index    integer NOT NULL CHECK (face_index >= 0),
  subject_id    uuid NOT NULL,
  decision      text NOT NULL CHECK (decision IN ('confirmed', 'rejected', 'inconclusive')),
  rationale     text NOT NULL,
  key_id        uuid NOT NULL,
  organization  text NOT NULL,          -- organization of the reviewer's key
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (search_id, face_index, subject_id, key_id)
);
CREATE INDEX review_created_idx ON review (created_at);

-- Head of the audit chain at anchoring time (npm run audit:anchor). The same seq/hash is also written to the chain itself.
CREATE TABLE audit_anchor (
  seq         bigint NOT NULL,
  hash        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (seq)
);

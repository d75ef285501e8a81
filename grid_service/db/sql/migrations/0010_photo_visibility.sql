-- Photos are visible to whoever may see a case that refers to them, and Open311 shows only what a city marks public.

-- The photos an action attached to a case (resolve, verify), beside report_media for the reports' photos.
CREATE TABLE case_media (
    case_id uuid NOT NULL,
    sha256  text NOT NULL REFERENCES media (sha256),
    seq     bigint NOT NULL,  -- the event that attached it
    PRIMARY KEY (sha256, case_id, seq)
);
INSERT INTO case_media (case_id, sha256, seq)
SELECT e.case_id, m.sha256, e.seq
  FROM events e,
       jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.data->'media') = 'array' THEN e.data->'media'
                                      ELSE '[]'::jsonb END) AS m (sha256)
ON CONFLICT DO NOTHING;

-- "Which cases show this photo?" is asked on every photo read.
CREATE INDEX report_media_by_sha256 ON report_media (sha256);

-- The words a city publishes about a case (Open311 status_notes); staff notes stay internal.
ALTER TABLE cases ADD COLUMN public_reply text CHECK (length(public_reply) <= 500);

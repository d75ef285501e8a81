-- Where and when each photo was taken, as the phone that took it says (SPEC §13: recorded with the
-- photo at the moment it is taken, never read from EXIF, which web uploads lose): its point
-- (WGS 84), the fix's accuracy and the device's clock; and the server's clock when it arrived.
-- Photos are content-addressed, so a capture is the uploader's: the first upload's is kept.
CREATE TABLE photo_captures (
    sha256      text NOT NULL REFERENCES media (sha256),
    uploaded_by text NOT NULL,
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    accuracy_m  real CHECK (accuracy_m >= 0),
    taken_at    timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, uploaded_by),
    CHECK ((lon IS NULL) = (lat IS NULL))
);

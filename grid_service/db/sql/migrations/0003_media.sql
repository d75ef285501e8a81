-- Photos: content-addressed by SHA-256, stored in the database so every worker and host serves them.

CREATE TABLE media (
    sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size         integer NOT NULL CHECK (size > 0),
    data         bytea NOT NULL,
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now()
);
-- Photos are already compressed: store them as they are, out of line.
ALTER TABLE media ALTER COLUMN data SET STORAGE EXTERNAL;

ALTER TABLE report_media ADD FOREIGN KEY (sha256) REFERENCES media (sha256);

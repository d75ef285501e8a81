-- The Open311 façade (GeoReport v2) brings two kinds of report the native API never sends.
--
-- A request placed by address alone (address_string or address_id, no lat/long): it cannot be
-- assigned to a grid cell, so its case waits for the dispatcher with reason no_location and
-- has no point until someone places it.
ALTER TABLE cases ALTER COLUMN lon DROP NOT NULL, ALTER COLUMN lat DROP NOT NULL,
    ADD CONSTRAINT cases_point_whole CHECK ((lon IS NULL) = (lat IS NULL));
ALTER TABLE cases DROP CONSTRAINT cases_pending_reason_check,
    ADD CONSTRAINT cases_pending_reason_check
        CHECK (pending_reason IN ('outside_grid', 'no_rule', 'rejected', 'no_location'));
ALTER TABLE reports ALTER COLUMN lon DROP NOT NULL, ALTER COLUMN lat DROP NOT NULL,
    ALTER COLUMN input_lon DROP NOT NULL, ALTER COLUMN input_lat DROP NOT NULL,
    ADD CONSTRAINT reports_point_whole CHECK ((lon IS NULL) = (lat IS NULL));

-- A link to a photo kept elsewhere (Open311's media_url); photos uploaded here stay in report_media.
ALTER TABLE reports ADD COLUMN media_url text CHECK (length(media_url) <= 2000);

-- GET /open311/v2/requests selects by when a case was reported, newest first.
CREATE INDEX cases_by_created_at ON cases (created_at);

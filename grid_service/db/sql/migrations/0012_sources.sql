-- Sources and the supervision center's roles (SPEC §10): where each report came from, and a case
-- keeps the source of the report that opened it. Existing rows came from inspectors' tokens.
-- New columns take a constant default (no rewrite); their CHECKs are added NOT VALID (new rows are
-- checked, the rows already there hold the default), so no step scans a table under its lock.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN (
    'inspector', 'department', 'dispatcher', 'viewer', 'admin', 'receiver', 'shift_lead', 'channel'
)) NOT VALID;
-- A channel token (a citizen app, the 12345 bridge, a camera system) is bound to one source.
ALTER TABLE api_tokens ADD COLUMN source text;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_source_known
    CHECK (source IN ('inspector', 'public', 'hotline', 'leader', 'sensor')) NOT VALID;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_channel_source
    CHECK ((role = 'channel') = (source IS NOT NULL)) NOT VALID;

ALTER TABLE reports ADD COLUMN source text NOT NULL DEFAULT 'inspector';
ALTER TABLE reports ADD CONSTRAINT reports_source_known
    CHECK (source IN ('inspector', 'public', 'hotline', 'leader', 'sensor')) NOT VALID;
ALTER TABLE cases ADD COLUMN source text NOT NULL DEFAULT 'inspector';
ALTER TABLE cases ADD CONSTRAINT cases_source_known
    CHECK (source IN ('inspector', 'public', 'hotline', 'leader', 'sensor')) NOT VALID;

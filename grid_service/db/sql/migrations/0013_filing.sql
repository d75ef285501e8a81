-- Filing (SPEC §10): a report may wait in `reported` for a receiver, who files it (it is then
-- routed as intake routes) or voids it (`voided`, terminal). Filing names a condition of the
-- city's filing standard (立案条件) when its category has them; the condition's limit is the case's.
-- Every CHECK is added NOT VALID: the rows already there were written by code that knew less, so
-- nothing scans a table under its lock.
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN (
    'reported', 'pending_dispatch', 'dispatched', 'in_progress', 'resolved', 'closed', 'cancelled', 'voided'
)) NOT VALID;
ALTER TABLE cases ADD COLUMN condition text;

-- A category's conditions, as categories.toml lists them: [{code, filing, closing, limit_hours,
-- urgent_limit_hours}], and the one auto filing takes.
ALTER TABLE categories ADD COLUMN conditions jsonb NOT NULL DEFAULT '[]';
ALTER TABLE categories ADD COLUMN default_condition text;

-- The filing policy (filing.toml) as validated: per source and override, and the step limits.
ALTER TABLE config_state ADD COLUMN filing jsonb NOT NULL DEFAULT '{}';

ALTER TABLE events DROP CONSTRAINT events_type_known;
ALTER TABLE events ADD CONSTRAINT events_type_known CHECK (type IN (
    'case.created', 'case.reported_again', 'case.dispatched', 'case.accepted', 'case.resolved',
    'case.closed', 'case.reopened', 'case.rejected', 'case.cancelled', 'case.warning', 'case.overdue',
    'case.escalated', 'case.filed', 'case.voided'
)) NOT VALID;

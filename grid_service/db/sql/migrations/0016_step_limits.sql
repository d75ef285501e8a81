-- Step limits (SPEC §10): 上报→受理 (reported until filed or voided) and 立案→派遣 (pending
-- dispatch until dispatched) each have a limit in natural minutes (filing.toml [steps]); the
-- deadline watch records once when a case exceeds it (case.step_overdue, with the step).
-- step_since is when the case entered its current status; step_overdue_at when the watch
-- recorded it over its limit (both reset when the status changes).
ALTER TABLE cases ADD COLUMN step_since timestamptz;
ALTER TABLE cases ADD COLUMN step_overdue_at timestamptz;
-- Cases waiting now start their step from their last change (the closest the log had kept).
UPDATE cases SET step_since = updated_at WHERE status IN ('reported', 'pending_dispatch');
CREATE INDEX cases_step_due ON cases (status, step_since)
    WHERE status IN ('reported', 'pending_dispatch') AND step_overdue_at IS NULL;

ALTER TABLE events DROP CONSTRAINT events_type_known;
ALTER TABLE events ADD CONSTRAINT events_type_known CHECK (type IN (
    'case.created', 'case.reported_again', 'case.dispatched', 'case.accepted', 'case.resolved',
    'case.closed', 'case.reopened', 'case.rejected', 'case.cancelled', 'case.warning', 'case.overdue',
    'case.escalated', 'case.filed', 'case.voided', 'case.check_requested', 'case.check_completed',
    'case.check_reassigned', 'case.step_overdue'
)) NOT VALID;

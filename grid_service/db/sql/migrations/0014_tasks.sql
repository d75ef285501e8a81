-- Check tasks (SPEC §10): an inspector is sent to see whether a reported problem is real
-- (check_report, 核实) or whether a department really handled a case (check_result, 核查).
-- A task is assigned to an inspector by name (the one answering for the case's cell), or to
-- the receivers' queue (assigned_to NULL) when nobody does; it is re-assigned once when overdue.
CREATE TABLE tasks (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('check_report', 'check_result')),
    case_id       uuid NOT NULL REFERENCES cases (id),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    assigned_to   text,
    due_at        timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    reassigned_at timestamptz,
    completed_at  timestamptz,
    completed_by  text,
    outcome       text CHECK (outcome IN ('confirmed', 'not_found', 'passed', 'failed')),
    lon           double precision,  -- where it was completed
    lat           double precision,
    CHECK ((status = 'done') = (completed_at IS NOT NULL AND outcome IS NOT NULL))
);
-- One open task of a kind per case: a second request is refused, two completions cannot both win.
CREATE UNIQUE INDEX tasks_one_open ON tasks (case_id, kind) WHERE status = 'open';
-- The deadline watch's overdue tasks not yet re-assigned.
CREATE INDEX tasks_due ON tasks (due_at) WHERE status = 'open' AND reassigned_at IS NULL;

ALTER TABLE config_state ADD COLUMN inspectors jsonb NOT NULL DEFAULT '{}';
ALTER TABLE config_state ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';

ALTER TABLE events DROP CONSTRAINT events_type_known;
ALTER TABLE events ADD CONSTRAINT events_type_known CHECK (type IN (
    'case.created', 'case.reported_again', 'case.dispatched', 'case.accepted', 'case.resolved',
    'case.closed', 'case.reopened', 'case.rejected', 'case.cancelled', 'case.warning', 'case.overdue',
    'case.escalated', 'case.filed', 'case.voided', 'case.check_requested', 'case.check_completed',
    'case.check_reassigned'
)) NOT VALID;

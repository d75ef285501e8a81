-- Disputes around the deadline (SPEC §11). A case returned too often waits in `arbitration` for a
-- shift lead's ruling, which binds the department ruled (ruled_department); an approved
-- suspension holds it in `suspended` (suspended_at, until, and the status it resumes to). The
-- deadline in force stays in deadline_at; original_deadline_at keeps the one the dispatch set
-- before an extension or a suspension moved it. A case has at most one open request (an
-- extension, a suspension or an appeal) in open_request; its history is the event log.
-- accept_due_at is the sign-for limit of the current dispatch; supervision_due_at the reply limit
-- of the current 督办. The *_overdue_at columns are the deadline watch's marks, set once.
ALTER TABLE cases ADD COLUMN returns int NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN ruled_department text;
ALTER TABLE cases ADD COLUMN original_deadline_at timestamptz;
ALTER TABLE cases ADD COLUMN extensions int NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN suspensions int NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN suspended_at timestamptz;
ALTER TABLE cases ADD COLUMN suspended_until timestamptz;
ALTER TABLE cases ADD COLUMN suspended_from text;
ALTER TABLE cases ADD COLUMN open_request jsonb;
ALTER TABLE cases ADD COLUMN appeals int NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN supervision_due_at timestamptz;
ALTER TABLE cases ADD COLUMN supervision_overdue_at timestamptz;
ALTER TABLE cases ADD COLUMN accept_due_at timestamptz;
ALTER TABLE cases ADD COLUMN acceptance_overdue_at timestamptz;
-- The deadline watch's work: suspended cases by the instant they resume by themselves, dispatched
-- cases not signed for by their sign-for limit, 督办 not answered by its reply limit.
CREATE INDEX cases_to_resume ON cases (suspended_until) WHERE status = 'suspended';
CREATE INDEX cases_acceptance_due ON cases (accept_due_at)
    WHERE status = 'dispatched' AND acceptance_overdue_at IS NULL;
CREATE INDEX cases_supervision_due ON cases (supervision_due_at)
    WHERE supervision_due_at IS NOT NULL AND supervision_overdue_at IS NULL;

ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN (
    'reported', 'pending_dispatch', 'dispatched', 'in_progress', 'resolved', 'closed', 'cancelled', 'voided',
    'arbitration', 'suspended'
)) NOT VALID;

ALTER TABLE events DROP CONSTRAINT events_type_known;
ALTER TABLE events ADD CONSTRAINT events_type_known CHECK (type IN (
    'case.created', 'case.reported_again', 'case.dispatched', 'case.accepted', 'case.resolved',
    'case.closed', 'case.reopened', 'case.rejected', 'case.cancelled', 'case.warning', 'case.overdue',
    'case.escalated', 'case.filed', 'case.voided', 'case.check_requested', 'case.check_completed',
    'case.check_reassigned', 'case.step_overdue',
    'case.ruled', 'case.acceptance_overdue', 'case.extension_requested',
    'case.extension_decided', 'case.suspension_requested', 'case.suspension_decided', 'case.resumed',
    'case.supervised', 'case.supervision_replied', 'case.supervision_overdue', 'case.appealed',
    'case.appeal_reviewed'
)) NOT VALID;

ALTER TABLE config_state ADD COLUMN disputes jsonb NOT NULL DEFAULT '{}';

-- Indexes of the supervision center: two for the deadline watch, each shaped to the sweep that
-- reads it, and one for the lists of cases waiting for a decision.

-- The deadline watch finds the cases to escalate by their level and deadline: for each level it
-- probes only the cases at that level whose deadline has reached a rung above it, instead of every
-- overdue case past the lowest rung (most of which already stand at the rung their age gives them).
CREATE INDEX cases_to_escalate ON cases (escalation_level, deadline_at)
    WHERE status IN ('dispatched', 'in_progress') AND overdue_at IS NOT NULL;
DROP INDEX cases_overdue_running;

-- The suspended cases to resume are read a batch after another by (until, id).
CREATE INDEX cases_to_resume_in_order ON cases (suspended_until, id) WHERE status = 'suspended';
DROP INDEX cases_to_resume;

-- The cases with an open request of a kind (GET /api/v1/cases?open_request=appeal), newest first:
-- the few that wait for a decision, found without reading the rest.
CREATE INDEX cases_by_open_request ON cases ((open_request->>'kind'), id) WHERE open_request IS NOT NULL;

-- What the deadline watch has recorded for a case's current deadline: the warning (yellow), the
-- overdue event, and the highest escalation level reached. Set at most once per deadline by a
-- conditional update under the row lock, so every worker may sweep and none records twice;
-- a re-dispatch (a new deadline) clears them.
ALTER TABLE cases
    ADD COLUMN warned_at timestamptz,
    ADD COLUMN overdue_at timestamptz,
    ADD COLUMN escalation_level smallint NOT NULL DEFAULT 0;
-- Each sweep reads only the cases it may have to mark, in the order they fall due.
CREATE INDEX cases_to_warn ON cases (warn_at)
    WHERE status IN ('dispatched', 'in_progress') AND warned_at IS NULL;
CREATE INDEX cases_to_mark_overdue ON cases (deadline_at)
    WHERE status IN ('dispatched', 'in_progress') AND overdue_at IS NULL;
CREATE INDEX cases_overdue_running ON cases (deadline_at)
    WHERE status IN ('dispatched', 'in_progress') AND overdue_at IS NOT NULL;

-- The escalation ladder (config/escalation.toml): N hours past the deadline, the case goes up to `name`.
CREATE TABLE escalation_levels (
    level       smallint PRIMARY KEY CHECK (level > 0),
    after_hours double precision NOT NULL CHECK (after_hours >= 0),
    name        text NOT NULL CHECK (length(name) > 0)
);

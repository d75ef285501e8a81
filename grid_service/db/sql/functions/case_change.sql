-- A case change and the events that record it, as the statements of grid_service/db/case_changes.py
-- take them: one array of case_change and one of case_event, binary and typed, instead of a column
-- array per field (whose encoding cost every batch of changes a check per element).
--
-- A definition, not a migration: `grid-service migrate` (re)creates these types whenever this file
-- changes. CHANGE_FIELDS and EVENT_FIELDS in case_changes.py list the same fields in the same order
-- (tests/db compares them): asyncpg sends each change as a tuple, field by position.
DROP TYPE IF EXISTS case_change;
CREATE TYPE case_change AS (
    id uuid,
    status text,
    pending_reason text,
    department text,
    dispatched_at timestamptz,
    deadline_at timestamptz,
    warn_at timestamptz,
    rework_count integer,
    routing_rule_id bigint,
    routing_rule jsonb,
    at timestamptz,
    expected_status text,     -- written only if the case is still in it
    public_reply text,        -- NULL keeps the case's
    category text,            -- NULL keeps the case's (as urgent, condition and resolution)
    urgent boolean,
    condition text,
    resolution text,
    version xid,              -- written only if the row is still this version; NULL: any
    keeps_marks boolean,      -- a moved deadline keeps the watch's records of it (a resume)
    -- the case's disputes (grid_service/db/rows.Disputes, in order)
    returns integer,
    ruled_department text,
    original_deadline_at timestamptz,
    extensions integer,
    suspensions integer,
    suspended_at timestamptz,
    suspended_until timestamptz,
    suspended_from text,
    open_request jsonb,
    appeals integer,
    supervision_due_at timestamptz,
    accept_due_at timestamptz
);
DROP TYPE IF EXISTS case_event;
CREATE TYPE case_event AS (
    of integer,               -- the change it records: its 1-based position in the changes
    type text,
    actor text,
    note text,
    data jsonb,
    department text,
    deadline_at timestamptz
);

-- Statistics are computed from the events alone, so each event says whom it counts for:
-- department is the department in charge of the case as of the event (for a rejection: the one
-- that rejected it), deadline_at the deadline a dispatch set. Written with the event, never changed.
ALTER TABLE events ADD COLUMN department text, ADD COLUMN deadline_at timestamptz;
-- Filling the new columns for existing events is the one update the log ever gets.
ALTER TABLE events DISABLE TRIGGER events_no_update;
UPDATE events SET department = data->>'department' WHERE data ? 'department';
UPDATE events SET deadline_at = (data->>'deadline_at')::timestamptz
 WHERE type = 'case.dispatched' AND data ? 'deadline_at';
ALTER TABLE events ENABLE TRIGGER events_no_update;

-- A period's events are a short stretch of the table (events are written in time order): a block
-- range index finds it at almost no cost to writers.
CREATE INDEX events_by_time ON events USING brin (at) WITH (pages_per_range = 16);
-- Deadlines that fall in a period, and overdue records, for the statistics.
CREATE INDEX events_deadlines ON events (deadline_at) WHERE type = 'case.dispatched';
CREATE INDEX events_overdue ON events (at) WHERE type = 'case.overdue';

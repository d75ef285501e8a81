-- Readers of the event log (department queue, live feed) need to know when a change was written
-- (to tell a sequence gap that will fill from one that never will) and to be woken on commit.

ALTER TABLE events ADD COLUMN written_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- Every transaction that appends events wakes the listeners when it commits.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grid_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_wake AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

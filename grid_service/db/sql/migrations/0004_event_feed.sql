-- Readers of the event log (department queue, live feed) need to know when a change was written,
-- to tell a sequence gap that will fill from one that never will (see grid_service/domain/horizon.py).

ALTER TABLE events ADD COLUMN written_at timestamptz NOT NULL DEFAULT clock_timestamp();

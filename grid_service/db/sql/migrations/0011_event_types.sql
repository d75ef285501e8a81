-- The log holds only the event types the service knows (domain/enums.py EventType lists the same).
-- NOT VALID: new rows are checked; rows already there (written by the same code) are not scanned,
-- so adding it takes its lock only for a moment and never stops intake behind a scan of the log.
ALTER TABLE events ADD CONSTRAINT events_type_known CHECK (type IN (
    'case.created', 'case.reported_again', 'case.dispatched', 'case.accepted', 'case.resolved',
    'case.closed', 'case.reopened', 'case.rejected', 'case.cancelled', 'case.warning', 'case.overdue',
    'case.escalated'
)) NOT VALID;

-- The log holds only the event types the service knows (domain/enums.py EventType lists the same).
ALTER TABLE events ADD CONSTRAINT events_type_known CHECK (type IN (
    'case.created', 'case.reported_again', 'case.dispatched', 'case.accepted', 'case.resolved',
    'case.closed', 'case.reopened', 'case.rejected', 'case.cancelled', 'case.warning', 'case.overdue',
    'case.escalated'
)) NOT VALID;
-- Checked against what is already there too, without holding a lock that stops intake meanwhile.
ALTER TABLE events VALIDATE CONSTRAINT events_type_known;

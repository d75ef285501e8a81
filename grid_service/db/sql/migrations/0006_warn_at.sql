-- The instant a running case turns yellow (80 % of its limit used, on its category's clock), set
-- with its deadline (domain/lights.py). Reads compare instants instead of walking the calendar,
-- and the warning sweep finds cases that turned yellow through an index.
ALTER TABLE cases ADD COLUMN warn_at timestamptz;
-- Cases dispatched before this column existed: 80 % of the time on the natural clock.
UPDATE cases SET warn_at = dispatched_at + (deadline_at - dispatched_at) * 0.8
 WHERE dispatched_at IS NOT NULL AND deadline_at IS NOT NULL;

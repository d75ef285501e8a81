-- The intake function lived here until it became a function definition that `grid-service migrate`
-- re-creates whenever it changes: sql/functions/intake_batch.sql. Databases that applied this
-- migration before keep their function until then; it is the same function either way.
SELECT 1;

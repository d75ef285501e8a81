-- The cases finished since an instant (the wall screen's day, GET /api/v1/map/cases?finished_since=),
-- in the order the map reads them a page at a time: a range of this index, whatever the size of the
-- log. Only finished cases have an entry (closed, cancelled and voided are final: set once).
CREATE INDEX case_facts_finished ON case_facts (finished_at, case_id) WHERE finished_at IS NOT NULL;

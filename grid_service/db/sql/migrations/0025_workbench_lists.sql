-- Indexes of the workbench's lists: each person's list is open cases of a status (or all of them),
-- newest first, read a page at a time among a year of finished ones.

-- A list of one status (待签收, 待受理, 待派遣, 待仲裁 …): its cases in id order, without the finished
-- ones. A department's inbox reads it too, keeping its own department's rows.
CREATE INDEX cases_open_by_status ON cases (status, id)
    WHERE status NOT IN ('cancelled', 'closed', 'voided');

-- 案件查询, every open case newest first: read backwards until a page is full.
CREATE INDEX cases_open_newest ON cases (id)
    WHERE status NOT IN ('cancelled', 'closed', 'voided');

-- The 督办 list: the few cases whose reply is due.
CREATE INDEX cases_supervised ON cases (id) WHERE supervision_due_at IS NOT NULL;

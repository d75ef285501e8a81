-- Indexes of the workbench's lists: each person's list is the open cases of a status (or a few),
-- newest first, often of one department, read a page at a time.

-- A receiver's or a dispatcher's list (reported, pending_dispatch, arbitration …) among a year of
-- closed cases: found by status, in id order, without reading the finished ones.
CREATE INDEX cases_open_by_status ON cases (status, id)
    WHERE status NOT IN ('closed', 'cancelled', 'voided');

-- A department's inbox and cases in hand: its own open cases of a status, newest first.
CREATE INDEX cases_open_by_department ON cases (department, status, id)
    WHERE department IS NOT NULL AND status NOT IN ('closed', 'cancelled', 'voided');

-- The 督办 list: the few cases whose reply is due.
CREATE INDEX cases_supervised ON cases (id) WHERE supervision_due_at IS NOT NULL;

-- The event log folded per case (SPEC §12): what the assessment figures judge a case by, kept
-- up to date in the transaction that writes its events, so that a period's figures read one row
-- per case instead of folding a month of events on every request.
--
-- A row folds every event of its case of the types case_facts_of reads; `last_at` is the latest
-- instant among them, so the row holds as of any instant after it. A period ending before
-- `last_at` folds that case's events again up to its end (case_facts_as_of), by the same
-- definition.
CREATE TABLE case_facts (
    case_id uuid PRIMARY KEY,
    last_seq bigint NOT NULL,             -- the newest event folded in
    last_at timestamptz NOT NULL,         -- the latest instant folded in
    created_at timestamptz,               -- case.created
    created_department text,
    created_seq bigint,
    filed_at timestamptz,                 -- filed: by a receiver, or at once on intake
    dispatch_seq bigint,                  -- the last dispatch: its department and deadline (按原期)
    department text,
    raw_deadline timestamptz,
    deadline_seq bigint,                  -- the deadline in force (按批准期): the last dispatch,
    adjusted_deadline timestamptz,        -- approved extension or resume
    paused_seq bigint,                    -- the last approved suspension
    resumed_seq bigint,                   -- the last resume
    rejected_seq bigint,                  -- the last return
    resolved_at timestamptz,              -- the last resolution
    closed_at timestamptz,                -- closed after a passed check, or self-handled on intake
    closure_at timestamptz,               -- the case.closed event (a case closes once)
    closure_department text,
    closure_seq bigint,
    finished_at timestamptz,              -- closed, cancelled or voided
    reworked boolean NOT NULL,
    ended boolean NOT NULL,               -- cancelled or voided
    appeal_approved boolean NOT NULL,
    first_overdue_at timestamptz,
    overdue_seq bigint,                   -- the last case.overdue
    overdue_department text,
    ending_seq bigint,                    -- the last event that ends an overdue spell (or reopens it)
    reopened_seq bigint                   -- the last reopening
);

-- The fold of some events: a row per case, from the given events of the types it lists. Every
-- column is the latest, the earliest or any-of of its events, or the value at the latest event of
-- some type (at the earliest, for the creation), so the fold of two sets of a case's events
-- joined (as the trigger below joins them) is the fold of both.
CREATE FUNCTION case_facts_of(given events[]) RETURNS SETOF case_facts
LANGUAGE sql IMMUTABLE AS $$
SELECT e.case_id,
       max(e.seq),
       max(e.at),
       min(e.at) FILTER (WHERE e.type = 'case.created'),
       (array_agg(e.department ORDER BY e.seq) FILTER (WHERE e.type = 'case.created'))[1],
       min(e.seq) FILTER (WHERE e.type = 'case.created'),
       min(e.at) FILTER (WHERE e.type = 'case.filed'
                            OR (e.type = 'case.created' AND coalesce(e.data->>'status', '') <> 'reported')),
       max(e.seq) FILTER (WHERE e.type = 'case.dispatched'),
       (array_agg(e.department ORDER BY e.seq DESC) FILTER (WHERE e.type = 'case.dispatched'))[1],
       (array_agg(e.deadline_at ORDER BY e.seq DESC) FILTER (WHERE e.type = 'case.dispatched'))[1],
       max(e.seq) FILTER (WHERE e.type IN ('case.dispatched', 'case.resumed')
                             OR (e.type = 'case.extension_decided' AND (e.data->>'approve')::boolean)),
       (array_agg(CASE WHEN e.type = 'case.dispatched' THEN e.deadline_at
                       ELSE (e.data->>'deadline_at')::timestamptz END ORDER BY e.seq DESC)
            FILTER (WHERE e.type IN ('case.dispatched', 'case.resumed')
                       OR (e.type = 'case.extension_decided' AND (e.data->>'approve')::boolean)))[1],
       max(e.seq) FILTER (WHERE e.type = 'case.suspension_decided' AND (e.data->>'approve')::boolean),
       max(e.seq) FILTER (WHERE e.type = 'case.resumed'),
       max(e.seq) FILTER (WHERE e.type = 'case.rejected'),
       max(e.at) FILTER (WHERE e.type = 'case.resolved'),
       max(e.at) FILTER (WHERE e.type = 'case.closed' OR (e.type = 'case.created' AND e.data->>'status' = 'closed')),
       max(e.at) FILTER (WHERE e.type = 'case.closed'),
       (array_agg(e.department ORDER BY e.seq DESC) FILTER (WHERE e.type = 'case.closed'))[1],
       max(e.seq) FILTER (WHERE e.type = 'case.closed'),
       max(e.at) FILTER (WHERE e.type IN ('case.closed', 'case.cancelled', 'case.voided')),
       coalesce(bool_or(e.type = 'case.reopened'), false),
       coalesce(bool_or(e.type IN ('case.cancelled', 'case.voided')), false),
       coalesce(bool_or(e.type = 'case.appeal_reviewed' AND (e.data->>'approved')::boolean), false),
       min(e.at) FILTER (WHERE e.type = 'case.overdue'),
       max(e.seq) FILTER (WHERE e.type = 'case.overdue'),
       (array_agg(e.department ORDER BY e.seq DESC) FILTER (WHERE e.type = 'case.overdue'))[1],
       max(e.seq) FILTER (WHERE e.type IN ('case.resolved', 'case.closed', 'case.cancelled', 'case.rejected',
                                          'case.dispatched', 'case.reopened')),
       max(e.seq) FILTER (WHERE e.type = 'case.reopened')
  FROM unnest(given) AS e
 WHERE e.type IN ('case.created', 'case.filed', 'case.dispatched', 'case.resumed', 'case.extension_decided',
                  'case.suspension_decided', 'case.closed', 'case.resolved', 'case.reopened', 'case.cancelled',
                  'case.voided', 'case.appeal_reviewed', 'case.rejected', 'case.overdue')
 GROUP BY e.case_id
$$;

-- The facts of the given cases as of an instant, from their events before it. Each case's
-- events are read by its index (a lateral probe per case), so the cost follows the cases asked
-- for, never the size of the log.
CREATE FUNCTION case_facts_as_of(ids uuid[], up_to timestamptz) RETURNS SETOF case_facts
LANGUAGE sql STABLE AS $$
SELECT * FROM case_facts_of(ARRAY(
    SELECT x.e FROM unnest(ids) AS i (id)
     CROSS JOIN LATERAL (SELECT e FROM events e
                          WHERE e.case_id = i.id AND e.at < up_to) AS x (e)))
$$;

-- After every statement that logs events, the fold of its events joins each case's row: the
-- row holds the fold of the case's whole log. Two transactions writing one case's events at once
-- each join their own events' fold; the second waits for the first's row (its only wait) and
-- joins into it, in either order.
CREATE FUNCTION fold_case_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_facts AS f
    SELECT * FROM case_facts_of(ARRAY(SELECT ROW(n.*)::events FROM new_events n))
     ORDER BY 1  -- rows locked in one order by every writer
    ON CONFLICT (case_id) DO UPDATE SET  -- (the right-hand sides read the row as it was)
        last_seq = greatest(f.last_seq, excluded.last_seq),
        last_at = greatest(f.last_at, excluded.last_at),
        created_at = least(f.created_at, excluded.created_at),
        created_department = CASE WHEN excluded.created_seq < coalesce(f.created_seq, 9223372036854775807)
                                  THEN excluded.created_department ELSE f.created_department END,
        created_seq = least(f.created_seq, excluded.created_seq),
        filed_at = least(f.filed_at, excluded.filed_at),
        dispatch_seq = greatest(f.dispatch_seq, excluded.dispatch_seq),
        department = CASE WHEN excluded.dispatch_seq > coalesce(f.dispatch_seq, 0)
                          THEN excluded.department ELSE f.department END,
        raw_deadline = CASE WHEN excluded.dispatch_seq > coalesce(f.dispatch_seq, 0)
                            THEN excluded.raw_deadline ELSE f.raw_deadline END,
        deadline_seq = greatest(f.deadline_seq, excluded.deadline_seq),
        adjusted_deadline = CASE WHEN excluded.deadline_seq > coalesce(f.deadline_seq, 0)
                                 THEN excluded.adjusted_deadline ELSE f.adjusted_deadline END,
        paused_seq = greatest(f.paused_seq, excluded.paused_seq),
        resumed_seq = greatest(f.resumed_seq, excluded.resumed_seq),
        rejected_seq = greatest(f.rejected_seq, excluded.rejected_seq),
        resolved_at = greatest(f.resolved_at, excluded.resolved_at),
        closed_at = greatest(f.closed_at, excluded.closed_at),
        closure_at = greatest(f.closure_at, excluded.closure_at),
        closure_department = CASE WHEN excluded.closure_seq > coalesce(f.closure_seq, 0)
                                  THEN excluded.closure_department ELSE f.closure_department END,
        closure_seq = greatest(f.closure_seq, excluded.closure_seq),
        finished_at = greatest(f.finished_at, excluded.finished_at),
        reworked = f.reworked OR excluded.reworked,
        ended = f.ended OR excluded.ended,
        appeal_approved = f.appeal_approved OR excluded.appeal_approved,
        first_overdue_at = least(f.first_overdue_at, excluded.first_overdue_at),
        overdue_seq = greatest(f.overdue_seq, excluded.overdue_seq),
        overdue_department = CASE WHEN excluded.overdue_seq > coalesce(f.overdue_seq, 0)
                                  THEN excluded.overdue_department ELSE f.overdue_department END,
        ending_seq = greatest(f.ending_seq, excluded.ending_seq),
        reopened_seq = greatest(f.reopened_seq, excluded.reopened_seq);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_fold_case_facts AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION fold_case_facts();

-- The log so far, folded ten thousand cases at a time.
DO $$
DECLARE
    chunk uuid[];
BEGIN
    FOR chunk IN SELECT array_agg(id) FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 10000 AS part
                                              FROM cases) AS c GROUP BY part
    LOOP
        INSERT INTO case_facts SELECT * FROM case_facts_as_of(chunk, 'infinity');
    END LOOP;
END
$$;

-- What a period's figures look for: the cases filed, created or closed in it, and those recorded
-- overdue that had not finished before it began.
CREATE INDEX case_facts_filed ON case_facts (filed_at);
CREATE INDEX case_facts_created ON case_facts (created_at);
CREATE INDEX case_facts_closed ON case_facts (closure_at) WHERE closure_at IS NOT NULL;
CREATE INDEX case_facts_overdue ON case_facts (finished_at) WHERE first_overdue_at IS NOT NULL;
ANALYZE case_facts;

-- Intake in one round trip: idempotency, duplicate attachment, case creation and events.
--
-- A function definition, not a migration: `grid-service migrate` (re)creates it whenever this
-- file changes (see grid_service/db/migrate.py), after the numbered migrations.
--
-- The application validates, assigns, routes and computes the deadline (pure
-- code); these functions do only what must happen atomically in the database.
-- Reports arrive as one array of intake_item (built by grid_service/db/reports.py):
-- binary, typed, nothing to parse. Each report's outcome is
-- {"outcome": "created" | "replay" | "conflict", "response": {...} | null},
-- returned with ord, its 1-based position in the arrays.
--
-- The function plans only nested loops into indexes (sequential scans, hash
-- and merge joins off). Their plans are cached per connection; a plan made
-- while the tables were nearly empty would otherwise keep scanning them whole
-- as they grow (nothing re-plans it where autovacuum does not ANALYZE),
-- making every intake slower than the one before. Every lookup has an index.

-- A batch in one transaction. Every advisory lock the batch needs
-- (idempotency keys and duplicate-search tiles) is taken first, in sorted
-- order, so concurrent batches cannot deadlock on them. Reports flagged
-- independent share no lock key with an earlier report of the batch: none can
-- be the retry or the duplicate of another, so one statement writes them all.
-- Each of the others is then written by the same statement, alone and in
-- order, so that it comes after every earlier report it could depend on.
DROP FUNCTION IF EXISTS intake_batch;
-- One report as intake writes it: the fields of IntakeItem in grid_service/db/reports.py, in the
-- same order (a test compares the two). Reports arrive as one array of these (binary, typed).
DROP TYPE IF EXISTS intake_item;
CREATE TYPE intake_item AS (
    at timestamptz,
    report_id uuid,
    case_id uuid,
    token_id integer,
    actor text,
    client_id text,
    body_hash bytea,
    category text,
    lon double precision,
    lat double precision,
    crs text,
    input_lon double precision,
    input_lat double precision,
    accuracy_m double precision,
    urgent boolean,
    description text,
    address text,
    media_url text,
    observed_at timestamptz,
    timezone text,
    status text,
    pending_reason text,
    grid_version integer,
    grid_code text,
    grid_name text,
    department text,
    department_name text,
    routing_rule_id integer,
    routing_rule jsonb,
    deadline_at timestamptz,
    warn_at timestamptz,
    duplicate_radius_m double precision,
    duplicate_window_hours double precision,
    source text,
    condition text,
    check_task_id uuid,      -- a check (核实) sent before a receiver decides; NULL: none
    check_assigned_to text,
    check_audience text,
    check_due_at timestamptz,
    resolution text,         -- self_handled: fixed on the spot, created closed
    after_media text[],
    accept_due_at timestamptz  -- dispatched: its sign-for limit
);
CREATE FUNCTION intake_batch(
    p_items intake_item[],
    p_independent boolean[],
    p_media_ord integer[],
    p_media_sha text[],
    lock_keys bigint[])
RETURNS TABLE (ord integer, outcome jsonb) LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    v_key      bigint;
    v_selected boolean[] := p_independent;  -- the reports the next statement writes
    v_next     integer;
BEGIN
    FOR v_key IN SELECT DISTINCT k FROM unnest(lock_keys) AS k ORDER BY k LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
    v_next := 0;
    LOOP
        RETURN QUERY
        WITH parsed AS MATERIALIZED (
            SELECT u.*, u.ordinality AS ord
              FROM unnest(p_items) WITH ORDINALITY AS u
             WHERE v_selected[u.ordinality]
        ),
        -- Each report's fate, decided in one pass: an earlier submission of its
        -- key, else an open case to join, else a new case (numbered here, once).
        planned AS MATERIALIZED (
            SELECT p.*, e.body_hash AS earlier_hash, e.response AS earlier_response, d.id AS join_case_id,
                   CASE WHEN e.body_hash IS NULL AND d.id IS NULL THEN
                       to_char(p.at AT TIME ZONE p.timezone, 'YYYYMMDD') || '-'
                           || lpad(nextval('case_no_seq')::text, 6, '0')
                   END AS new_case_no
              FROM parsed p
              LEFT JOIN LATERAL (
                    SELECT r.body_hash, r.response FROM reports r
                     WHERE r.token_id = p.token_id AND r.client_id = p.client_id LIMIT 1) AS e ON true
              LEFT JOIN LATERAL (
                    SELECT c.id FROM cases c
                     WHERE e.body_hash IS NULL AND p.duplicate_radius_m > 0 AND p.duplicate_window_hours > 0
                       AND c.category = p.category
                       AND c.status NOT IN ('closed', 'cancelled') AND c.status <> 'voided'
                       AND c.lat BETWEEN p.lat - p.duplicate_radius_m / 111320.0
                                     AND p.lat + p.duplicate_radius_m / 111320.0
                       AND c.lon BETWEEN p.lon - p.duplicate_radius_m / 111320.0 / greatest(cos(radians(p.lat)), 1e-6)
                                     AND p.lon + p.duplicate_radius_m / 111320.0 / greatest(cos(radians(p.lat)), 1e-6)
                       AND c.last_reported_at >= p.at - make_interval(secs => p.duplicate_window_hours * 3600)
                       AND power((c.lon - p.lon) * greatest(cos(radians(p.lat)), 1e-6) * 111320.0, 2)
                           + power((c.lat - p.lat) * 111320.0, 2) <= power(p.duplicate_radius_m, 2)
                     ORDER BY power((c.lon - p.lon) * greatest(cos(radians(p.lat)), 1e-6), 2)
                              + power(c.lat - p.lat, 2), c.created_at, c.id
                     LIMIT 1) AS d ON true
        ),
        new_cases AS (
            INSERT INTO cases (id, case_no, status, pending_reason, category, urgent, lon, lat, grid_version,
                               grid_code, department, routing_rule_id, routing_rule, created_at, last_reported_at,
                               dispatched_at, deadline_at, warn_at, updated_at, source, condition, resolution,
                               step_since, accept_due_at)
            SELECT f.case_id, f.new_case_no, f.status, f.pending_reason, f.category, f.urgent, f.lon, f.lat,
                   f.grid_version, f.grid_code, f.department, f.routing_rule_id, f.routing_rule, f.at, f.at,
                   CASE WHEN f.status = 'dispatched' THEN f.at END, f.deadline_at, f.warn_at, f.at, f.source,
                   f.condition, f.resolution, f.at, f.accept_due_at
              FROM planned f WHERE f.new_case_no IS NOT NULL ORDER BY f.ord
            RETURNING id
        ),
        touched AS (
            UPDATE cases c SET last_reported_at = greatest(c.last_reported_at, t.last_at),
                               report_count = c.report_count + t.n, updated_at = greatest(c.updated_at, t.last_at)
              FROM (SELECT j.join_case_id, count(*) AS n, max(j.at) AS last_at
                      FROM planned j WHERE j.join_case_id IS NOT NULL GROUP BY j.join_case_id) AS t
             WHERE c.id = t.join_case_id
            RETURNING c.id
        ),
        logged AS (  -- one insert so that each case's events get ascending sequence numbers in order
            INSERT INTO events (case_id, type, at, actor, data, department, deadline_at)
            SELECT e.case_id, e.type, e.at, e.actor, e.data, e.department, e.deadline_at FROM (
                SELECT j.ord, 0 AS step, j.join_case_id AS case_id, 'case.reported_again' AS type, j.at, j.actor,
                       jsonb_build_object('report_id', j.report_id) AS data, NULL::text AS department,
                       NULL::timestamptz AS deadline_at
                  FROM planned j WHERE j.join_case_id IS NOT NULL
                UNION ALL
                SELECT f.ord, 1, f.case_id, 'case.created', f.at, f.actor,
                       jsonb_build_object('report_id', f.report_id, 'grid', f.grid_code,
                                          'pending_reason', f.pending_reason, 'status', f.status),
                       f.department, NULL
                  FROM planned f WHERE f.new_case_no IS NOT NULL
                UNION ALL
                SELECT f.ord, 2, f.case_id, 'case.dispatched', f.at, 'routing',
                       jsonb_build_object('department', f.department, 'deadline_at', f.deadline_at,
                                          'routing_rule', f.routing_rule),
                       f.department, f.deadline_at
                  FROM planned f WHERE f.new_case_no IS NOT NULL AND f.status = 'dispatched'
                UNION ALL
                SELECT f.ord, 2, f.case_id, 'case.closed', f.at, f.actor,
                       jsonb_build_object('self_handled', true, 'after_media', to_jsonb(f.after_media),
                                          'on_time', NULL),
                       NULL, NULL
                  FROM planned f WHERE f.new_case_no IS NOT NULL AND f.resolution = 'self_handled'
                UNION ALL
                SELECT f.ord, 3, f.case_id, 'case.check_requested', f.at, 'filing',
                       jsonb_build_object('task_id', f.check_task_id, 'kind', 'check_report',
                                          'assigned_to', f.check_assigned_to, 'audience', f.check_audience,
                                          'due_at', f.check_due_at),
                       NULL, NULL
                  FROM planned f WHERE f.new_case_no IS NOT NULL AND f.check_task_id IS NOT NULL
            ) AS e ORDER BY e.ord, e.step
            RETURNING seq
        ),
        checks AS (  -- only with a new case: a report joining an open case joins its checks too
            INSERT INTO tasks (id, kind, case_id, assigned_to, due_at, created_at)
            SELECT f.check_task_id, 'check_report', f.case_id, f.check_assigned_to, f.check_due_at, f.at
              FROM planned f WHERE f.new_case_no IS NOT NULL AND f.check_task_id IS NOT NULL
            RETURNING id
        ),
        -- The case each report ended up in, new or joined, as the answer describes it.
        fates AS (
            SELECT f.*, f.case_id AS ack_case_id, false AS duplicate, f.new_case_no AS ack_case_no,
                   f.status AS ack_status, f.pending_reason AS ack_pending_reason, f.grid_code AS ack_grid_code,
                   f.grid_name AS ack_grid_name, f.department AS ack_department,
                   f.department_name AS ack_department_name, f.deadline_at AS ack_deadline_at
              FROM planned f WHERE f.new_case_no IS NOT NULL
            UNION ALL
            SELECT j.*, c.id, true, c.case_no, c.status, c.pending_reason, c.grid_code, g.name, c.department,
                   d.name, c.deadline_at
              FROM planned j
              JOIN cases c ON c.id = j.join_case_id
              LEFT JOIN grid_cells g ON g.version = c.grid_version AND g.code = c.grid_code
              LEFT JOIN departments d ON d.code = c.department
             WHERE j.join_case_id IS NOT NULL
        ),
        acks AS MATERIALIZED (
            SELECT x.*,
                   jsonb_build_object(
                       'report_id', x.report_id, 'case_id', x.ack_case_id, 'case_no', x.ack_case_no,
                       'duplicate', x.duplicate, 'status', x.ack_status, 'pending_reason', x.ack_pending_reason,
                       'grid', CASE WHEN x.ack_grid_code IS NULL THEN NULL
                                    ELSE jsonb_build_object('code', x.ack_grid_code, 'name', x.ack_grid_name) END,
                       'department', CASE WHEN x.ack_department IS NULL THEN NULL
                                          ELSE jsonb_build_object('code', x.ack_department,
                                                                  'name', x.ack_department_name) END,
                       'deadline_at', x.ack_deadline_at) AS response
              FROM fates x
        ),
        stored AS (
            INSERT INTO reports (id, token_id, client_id, body_hash, case_id, duplicate, category, lon, lat, crs,
                                 input_lon, input_lat, accuracy_m, urgent, description, address, media_url,
                                 observed_at, received_at, response, source)
            SELECT a.report_id, a.token_id, a.client_id, a.body_hash, a.ack_case_id, a.duplicate,
                   a.category, a.lon, a.lat, a.crs, a.input_lon, a.input_lat, a.accuracy_m, a.urgent, a.description,
                   a.address, a.media_url, a.observed_at, a.at, a.response, a.source
              FROM acks a
            RETURNING id
        ),
        photos AS (
            INSERT INTO report_media (report_id, position, sha256)
            SELECT a.report_id, (row_number() OVER (PARTITION BY m.ord ORDER BY m.n) - 1)::smallint, m.sha
              FROM unnest(p_media_ord, p_media_sha) WITH ORDINALITY AS m (ord, sha, n)
              JOIN acks a ON a.ord = m.ord
            RETURNING report_id
        )
        SELECT a.ord::integer, jsonb_build_object('outcome', 'created', 'response', a.response) FROM acks a
        UNION ALL
        SELECT e.ord::integer, CASE WHEN e.earlier_hash = e.body_hash
                                    THEN jsonb_build_object('outcome', 'replay', 'response', e.earlier_response)
                                    ELSE jsonb_build_object('outcome', 'conflict', 'response', NULL) END
          FROM planned e WHERE e.earlier_hash IS NOT NULL;

        SELECT min(g) INTO v_next FROM generate_subscripts(p_independent, 1) AS g
         WHERE NOT p_independent[g] AND g > v_next;
        EXIT WHEN v_next IS NULL;
        v_selected := ARRAY(SELECT g = v_next FROM generate_subscripts(p_independent, 1) AS g ORDER BY g);
    END LOOP;
END $$;

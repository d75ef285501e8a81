-- Intake in one round trip: idempotency, duplicate attachment, case creation and events in one call.
--
-- The application validates, assigns, routes and computes the deadline (pure
-- code); these functions do only what must happen atomically in the database.
-- Items arrive as one array per field of intake_item (built by
-- grid_service/db/reports.py): binary, typed, nothing to parse. Each returns, per item,
-- {"outcome": "created" | "replay" | "conflict", "response": {...} | null}.

CREATE TYPE intake_item AS (
    at                     timestamptz,
    report_id              uuid,
    case_id                uuid,
    token_id               integer,
    actor                  text,
    client_id              text,
    body_hash              text,
    category               text,
    lon                    double precision,
    lat                    double precision,
    crs                    text,
    input_lon              double precision,
    input_lat              double precision,
    accuracy_m             double precision,
    urgent                 boolean,
    description            text,
    address                text,
    observed_at            timestamptz,
    media                  text[],
    timezone               text,
    status                 text,
    pending_reason         text,
    grid_version           integer,
    grid_code              text,
    grid_name              text,
    department             text,
    department_name        text,
    routing_rule_id        integer,
    routing_rule           jsonb,
    deadline_at            timestamptz,
    duplicate_radius_m     double precision,
    duplicate_window_hours double precision
);

-- Both functions run with sequential scans, hash joins and merge joins off, so
-- that every lookup is a nested loop over the (at most a few hundred) items
-- into an index. Their plans are cached per connection; a plan made while the
-- tables were nearly empty would otherwise keep scanning them whole as they
-- grow (nothing re-plans it where autovacuum does not ANALYZE), making each
-- intake slower with every report stored. Every lookup has an index made for it.
CREATE FUNCTION intake_one(i intake_item) RETURNS jsonb LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    v_hash     bytea := decode(i.body_hash, 'hex');
    v_existing record;
    v_case     record;
    v_case_id  uuid;
    v_case_no  text;
    v_coslat   double precision;
    v_dlat     double precision;
    v_dlon     double precision;
    v_response jsonb;
BEGIN
    -- Idempotency: callers hold an advisory lock on (token, client_id), so at
    -- most one submission of a key is between this check and its insert.
    SELECT body_hash, response INTO v_existing FROM reports WHERE token_id = i.token_id AND client_id = i.client_id;
    IF FOUND THEN
        IF v_existing.body_hash = v_hash THEN
            RETURN jsonb_build_object('outcome', 'replay', 'response', v_existing.response);
        END IF;
        RETURN jsonb_build_object('outcome', 'conflict', 'response', NULL);
    END IF;

    -- Duplicate attachment: the nearest open case of the same category last
    -- reported within the window. Callers hold the advisory locks for this area.
    IF i.duplicate_radius_m > 0 AND i.duplicate_window_hours > 0 THEN
        v_coslat := greatest(cos(radians(i.lat)), 1e-6);
        v_dlat := i.duplicate_radius_m / 111320.0;
        v_dlon := v_dlat / v_coslat;
        SELECT c.id INTO v_case_id FROM cases c
         WHERE c.category = i.category
           AND c.status NOT IN ('closed', 'cancelled')
           AND c.lat BETWEEN i.lat - v_dlat AND i.lat + v_dlat
           AND c.lon BETWEEN i.lon - v_dlon AND i.lon + v_dlon
           AND c.last_reported_at >= i.at - make_interval(secs => i.duplicate_window_hours * 3600)
           AND power((c.lon - i.lon) * v_coslat * 111320.0, 2) + power((c.lat - i.lat) * 111320.0, 2)
               <= power(i.duplicate_radius_m, 2)
         ORDER BY power((c.lon - i.lon) * v_coslat, 2) + power(c.lat - i.lat, 2), c.created_at, c.id
         LIMIT 1;
    END IF;

    IF v_case_id IS NOT NULL THEN
        UPDATE cases SET last_reported_at = greatest(last_reported_at, i.at), report_count = report_count + 1,
                         updated_at = i.at
         WHERE id = v_case_id;
        INSERT INTO events (case_id, type, at, actor, data)
        VALUES (v_case_id, 'case.reported_again', i.at, i.actor, jsonb_build_object('report_id', i.report_id));
        SELECT c.case_no, c.status, c.pending_reason, c.deadline_at, c.grid_code, g.name AS grid_name,
               c.department, d.name AS department_name
          INTO v_case
          FROM cases c
          LEFT JOIN grid_cells g ON g.version = c.grid_version AND g.code = c.grid_code
          LEFT JOIN departments d ON d.code = c.department
         WHERE c.id = v_case_id;
    ELSE
        v_case_id := i.case_id;
        v_case_no := to_char(i.at AT TIME ZONE i.timezone, 'YYYYMMDD') || '-'
                     || lpad(nextval('case_no_seq')::text, 6, '0');
        INSERT INTO cases (id, case_no, status, pending_reason, category, urgent, lon, lat, grid_version,
                           grid_code, department, routing_rule_id, routing_rule, created_at, last_reported_at,
                           dispatched_at, deadline_at, updated_at)
        VALUES (v_case_id, v_case_no, i.status, i.pending_reason, i.category, i.urgent, i.lon, i.lat,
                i.grid_version, i.grid_code, i.department, i.routing_rule_id, i.routing_rule, i.at, i.at,
                CASE WHEN i.status = 'dispatched' THEN i.at END, i.deadline_at, i.at);
        INSERT INTO events (case_id, type, at, actor, data)
        VALUES (v_case_id, 'case.created', i.at, i.actor,
                jsonb_build_object('report_id', i.report_id, 'grid', i.grid_code, 'pending_reason', i.pending_reason));
        IF i.status = 'dispatched' THEN
            INSERT INTO events (case_id, type, at, actor, data)
            VALUES (v_case_id, 'case.dispatched', i.at, 'routing',
                    jsonb_build_object('department', i.department, 'deadline_at', i.deadline_at,
                                       'routing_rule', i.routing_rule));
        END IF;
        SELECT v_case_no AS case_no, i.status AS status, i.pending_reason AS pending_reason,
               i.deadline_at AS deadline_at, i.grid_code AS grid_code, i.grid_name AS grid_name,
               i.department AS department, i.department_name AS department_name
          INTO v_case;
    END IF;

    v_response := jsonb_build_object(
        'report_id', i.report_id,
        'case_id', v_case_id,
        'case_no', v_case.case_no,
        'duplicate', i.case_id IS DISTINCT FROM v_case_id,
        'status', v_case.status,
        'pending_reason', v_case.pending_reason,
        'grid', CASE WHEN v_case.grid_code IS NULL THEN NULL
                     ELSE jsonb_build_object('code', v_case.grid_code, 'name', v_case.grid_name) END,
        'department', CASE WHEN v_case.department IS NULL THEN NULL
                           ELSE jsonb_build_object('code', v_case.department, 'name', v_case.department_name) END,
        'deadline_at', v_case.deadline_at);

    INSERT INTO reports (id, token_id, client_id, body_hash, case_id, duplicate, category, lon, lat, crs,
                         input_lon, input_lat, accuracy_m, urgent, description, address, observed_at,
                         received_at, response)
    VALUES (i.report_id, i.token_id, i.client_id, v_hash, v_case_id, i.case_id IS DISTINCT FROM v_case_id,
            i.category, i.lon, i.lat, i.crs, i.input_lon, i.input_lat, i.accuracy_m, i.urgent, i.description,
            i.address, i.observed_at, i.at, v_response);
    IF cardinality(i.media) > 0 THEN
        INSERT INTO report_media (report_id, position, sha256)
        SELECT i.report_id, (m.ordinality - 1)::smallint, m.value
          FROM unnest(i.media) WITH ORDINALITY AS m (value, ordinality);
    END IF;

    RETURN jsonb_build_object('outcome', 'created', 'response', v_response);
END $$;

-- A batch in one transaction. Every advisory lock the batch needs
-- (idempotency keys and duplicate-search tiles) is taken first, in sorted
-- order, so concurrent batches cannot deadlock on them.
--
-- Items flagged "independent" share no lock key with any earlier item of the
-- batch: no earlier item can be their retry or their duplicate, so one
-- statement writes all of them. The others are then taken one by one, in
-- order, by intake_one; each comes after every earlier item it could depend
-- on. Returns (ord, outcome) rows, ord being the item's 1-based position.
CREATE FUNCTION intake_batch(
    p_at timestamptz[],
    p_report_id uuid[],
    p_case_id uuid[],
    p_token_id integer[],
    p_actor text[],
    p_client_id text[],
    p_body_hash text[],
    p_category text[],
    p_lon double precision[],
    p_lat double precision[],
    p_crs text[],
    p_input_lon double precision[],
    p_input_lat double precision[],
    p_accuracy_m double precision[],
    p_urgent boolean[],
    p_description text[],
    p_address text[],
    p_observed_at timestamptz[],
    p_timezone text[],
    p_status text[],
    p_pending_reason text[],
    p_grid_version integer[],
    p_grid_code text[],
    p_grid_name text[],
    p_department text[],
    p_department_name text[],
    p_routing_rule_id integer[],
    p_routing_rule jsonb[],
    p_deadline_at timestamptz[],
    p_duplicate_radius_m double precision[],
    p_duplicate_window_hours double precision[],
    p_independent boolean[],
    p_media_ord integer[],  -- photos: the item each belongs to, and its hash, in order
    p_media_sha text[],
    lock_keys bigint[])
RETURNS TABLE (ord integer, outcome jsonb) LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    v_key bigint;
    v_i   integer;
BEGIN
    FOR v_key IN SELECT DISTINCT k FROM unnest(lock_keys) AS k ORDER BY k LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;

    RETURN QUERY
    WITH parsed AS MATERIALIZED (
        SELECT u.*
          FROM unnest(p_at, p_report_id, p_case_id, p_token_id, p_actor, p_client_id, p_body_hash, p_category, p_lon,
                      p_lat, p_crs, p_input_lon, p_input_lat, p_accuracy_m, p_urgent, p_description, p_address,
                      p_observed_at, p_timezone, p_status, p_pending_reason, p_grid_version, p_grid_code,
                      p_grid_name, p_department, p_department_name, p_routing_rule_id, p_routing_rule,
                      p_deadline_at, p_duplicate_radius_m, p_duplicate_window_hours, p_independent)
               WITH ORDINALITY
               AS u (at, report_id, case_id, token_id, actor, client_id, body_hash, category, lon, lat, crs,
                     input_lon, input_lat, accuracy_m, urgent, description, address, observed_at, timezone, status,
                     pending_reason, grid_version, grid_code, grid_name, department, department_name,
                     routing_rule_id, routing_rule, deadline_at, duplicate_radius_m, duplicate_window_hours,
                     independent, ord)
         WHERE u.independent
    ),
    -- Each report's fate, decided in one pass: an earlier submission of its
    -- key, else an open case to join, else a new case (numbered here, once).
    planned AS MATERIALIZED (
        SELECT p.*, e.body_hash AS earlier_hash, e.response AS earlier_response, d.id AS join_case_id,
               CASE WHEN e.body_hash IS NULL AND d.id IS NULL THEN
                   to_char(p.at AT TIME ZONE p.timezone, 'YYYYMMDD') || '-' || lpad(nextval('case_no_seq')::text, 6, '0')
               END AS new_case_no
          FROM parsed p
          LEFT JOIN LATERAL (
                SELECT r.body_hash, r.response FROM reports r
                 WHERE r.token_id = p.token_id AND r.client_id = p.client_id LIMIT 1) AS e ON true
          LEFT JOIN LATERAL (
                SELECT c.id FROM cases c
                 WHERE e.body_hash IS NULL AND p.duplicate_radius_m > 0 AND p.duplicate_window_hours > 0
                   AND c.category = p.category
                   AND c.status NOT IN ('closed', 'cancelled')
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
                           dispatched_at, deadline_at, updated_at)
        SELECT f.case_id, f.new_case_no, f.status, f.pending_reason, f.category, f.urgent, f.lon, f.lat,
               f.grid_version, f.grid_code, f.department, f.routing_rule_id, f.routing_rule, f.at, f.at,
               CASE WHEN f.status = 'dispatched' THEN f.at END, f.deadline_at, f.at
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
        INSERT INTO events (case_id, type, at, actor, data)
        SELECT e.case_id, e.type, e.at, e.actor, e.data FROM (
            SELECT j.ord, 0 AS step, j.join_case_id AS case_id, 'case.reported_again' AS type, j.at, j.actor,
                   jsonb_build_object('report_id', j.report_id) AS data
              FROM planned j WHERE j.join_case_id IS NOT NULL
            UNION ALL
            SELECT f.ord, 1, f.case_id, 'case.created', f.at, f.actor,
                   jsonb_build_object('report_id', f.report_id, 'grid', f.grid_code, 'pending_reason', f.pending_reason)
              FROM planned f WHERE f.new_case_no IS NOT NULL
            UNION ALL
            SELECT f.ord, 2, f.case_id, 'case.dispatched', f.at, 'routing',
                   jsonb_build_object('department', f.department, 'deadline_at', f.deadline_at,
                                      'routing_rule', f.routing_rule)
              FROM planned f WHERE f.new_case_no IS NOT NULL AND f.status = 'dispatched'
        ) AS e ORDER BY e.ord, e.step
        RETURNING seq
    ),
    acks AS MATERIALIZED (
        SELECT f.*, f.case_id AS ack_case_id, false AS duplicate,
               jsonb_build_object(
                   'report_id', f.report_id, 'case_id', f.case_id, 'case_no', f.new_case_no, 'duplicate', false,
                   'status', f.status, 'pending_reason', f.pending_reason,
                   'grid', CASE WHEN f.grid_code IS NULL THEN NULL
                                ELSE jsonb_build_object('code', f.grid_code, 'name', f.grid_name) END,
                   'department', CASE WHEN f.department IS NULL THEN NULL
                                      ELSE jsonb_build_object('code', f.department, 'name', f.department_name) END,
                   'deadline_at', f.deadline_at) AS response
          FROM planned f WHERE f.new_case_no IS NOT NULL
        UNION ALL
        SELECT j.*, c.id, true,
               jsonb_build_object(
                   'report_id', j.report_id, 'case_id', c.id, 'case_no', c.case_no, 'duplicate', true,
                   'status', c.status, 'pending_reason', c.pending_reason,
                   'grid', CASE WHEN c.grid_code IS NULL THEN NULL
                                ELSE jsonb_build_object('code', c.grid_code, 'name', g.name) END,
                   'department', CASE WHEN c.department IS NULL THEN NULL
                                      ELSE jsonb_build_object('code', c.department, 'name', d.name) END,
                   'deadline_at', c.deadline_at)
          FROM planned j
          JOIN cases c ON c.id = j.join_case_id
          LEFT JOIN grid_cells g ON g.version = c.grid_version AND g.code = c.grid_code
          LEFT JOIN departments d ON d.code = c.department
         WHERE j.join_case_id IS NOT NULL
    ),
    stored AS (
        INSERT INTO reports (id, token_id, client_id, body_hash, case_id, duplicate, category, lon, lat, crs,
                             input_lon, input_lat, accuracy_m, urgent, description, address, observed_at,
                             received_at, response)
        SELECT a.report_id, a.token_id, a.client_id, decode(a.body_hash, 'hex'), a.ack_case_id, a.duplicate,
               a.category, a.lon, a.lat, a.crs, a.input_lon, a.input_lat, a.accuracy_m, a.urgent, a.description,
               a.address, a.observed_at, a.at, a.response
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
    SELECT e.ord::integer, CASE WHEN e.earlier_hash = decode(e.body_hash, 'hex')
                                THEN jsonb_build_object('outcome', 'replay', 'response', e.earlier_response)
                                ELSE jsonb_build_object('outcome', 'conflict', 'response', NULL) END
      FROM planned e WHERE e.earlier_hash IS NOT NULL;

    FOR v_i IN SELECT g FROM generate_subscripts(p_independent, 1) AS g WHERE NOT p_independent[g] ORDER BY g LOOP
        ord := v_i;
        outcome := intake_one(ROW(
                     p_at[v_i],
                     p_report_id[v_i],
                     p_case_id[v_i],
                     p_token_id[v_i],
                     p_actor[v_i],
                     p_client_id[v_i],
                     p_body_hash[v_i],
                     p_category[v_i],
                     p_lon[v_i],
                     p_lat[v_i],
                     p_crs[v_i],
                     p_input_lon[v_i],
                     p_input_lat[v_i],
                     p_accuracy_m[v_i],
                     p_urgent[v_i],
                     p_description[v_i],
                     p_address[v_i],
                     p_observed_at[v_i],
                     (SELECT coalesce(array_agg(m.sha ORDER BY m.n), '{}') FROM unnest(p_media_ord, p_media_sha) WITH ORDINALITY AS m (ord, sha, n) WHERE m.ord = v_i),
                     p_timezone[v_i],
                     p_status[v_i],
                     p_pending_reason[v_i],
                     p_grid_version[v_i],
                     p_grid_code[v_i],
                     p_grid_name[v_i],
                     p_department[v_i],
                     p_department_name[v_i],
                     p_routing_rule_id[v_i],
                     p_routing_rule[v_i],
                     p_deadline_at[v_i],
                     p_duplicate_radius_m[v_i],
                     p_duplicate_window_hours[v_i]

                 )::intake_item);
        RETURN NEXT;
    END LOOP;
END $$;

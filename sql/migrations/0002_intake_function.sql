-- Intake in one round trip: idempotency, duplicate attachment, case creation and events in one call.
--
-- The application validates, assigns, routes and computes the deadline (pure
-- code); this function does only what must happen atomically in the database.
-- Each item is a jsonb object (see grid_service/db/reports.py for its fields).
-- Returns one jsonb per item: {"outcome": "created" | "replay" | "conflict", "response": {...}}.

CREATE FUNCTION intake_one(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_at         timestamptz := (item->>'at')::timestamptz;
    v_report_id  uuid := (item->>'report_id')::uuid;
    v_case_id    uuid;
    v_existing   record;
    v_case       record;
    v_duplicate  boolean := false;
    v_radius     double precision := coalesce((item->>'duplicate_radius_m')::double precision, 0);
    v_window     double precision := coalesce((item->>'duplicate_window_hours')::double precision, 0);
    v_lon        double precision := (item->>'lon')::double precision;
    v_lat        double precision := (item->>'lat')::double precision;
    v_dlat       double precision;
    v_dlon       double precision;
    v_coslat     double precision;
    v_response   jsonb;
BEGIN
    -- Idempotency: callers hold an advisory lock on (token, client_id), so at
    -- most one submission of a key is between this check and its insert.
    SELECT body_hash, response INTO v_existing FROM reports
     WHERE token_id = (item->>'token_id')::integer AND client_id = item->>'client_id';
    IF FOUND THEN
        IF v_existing.body_hash = decode(item->>'body_hash', 'hex') THEN
            RETURN jsonb_build_object('outcome', 'replay', 'response', v_existing.response);
        END IF;
        RETURN jsonb_build_object('outcome', 'conflict', 'response', NULL);
    END IF;

    -- Duplicate attachment: the nearest open case of the same category reported
    -- within the window. Callers hold the advisory locks for this area.
    IF v_radius > 0 AND v_window > 0 THEN
        v_coslat := greatest(cos(radians(v_lat)), 1e-6);
        v_dlat := v_radius / 111320.0;
        v_dlon := v_dlat / v_coslat;
        SELECT c.id INTO v_case_id FROM cases c
         WHERE c.category = item->>'category'
           AND c.status NOT IN ('closed', 'cancelled')
           AND c.lat BETWEEN v_lat - v_dlat AND v_lat + v_dlat
           AND c.lon BETWEEN v_lon - v_dlon AND v_lon + v_dlon
           AND c.last_reported_at >= v_at - make_interval(secs => v_window * 3600)
           AND sqrt(power((c.lon - v_lon) * v_coslat * 111320.0, 2) + power((c.lat - v_lat) * 111320.0, 2))
               <= v_radius
         ORDER BY power((c.lon - v_lon) * v_coslat, 2) + power(c.lat - v_lat, 2), c.created_at, c.id
         LIMIT 1;
    END IF;

    IF v_case_id IS NOT NULL THEN
        v_duplicate := true;
        UPDATE cases SET last_reported_at = greatest(last_reported_at, v_at), report_count = report_count + 1,
                         updated_at = v_at
         WHERE id = v_case_id;
        INSERT INTO events (case_id, type, at, actor, data)
        VALUES (v_case_id, 'case.reported_again', v_at, item->>'actor',
                jsonb_build_object('report_id', v_report_id));
    ELSE
        v_case_id := (item->>'case_id')::uuid;
        INSERT INTO cases (id, case_no, status, pending_reason, category, urgent, lon, lat, grid_version,
                           grid_code, department, routing_rule_id, routing_rule, created_at, last_reported_at,
                           dispatched_at, deadline_at, updated_at)
        VALUES (v_case_id,
                to_char(v_at AT TIME ZONE (item->>'timezone'), 'YYYYMMDD') || '-'
                    || lpad(nextval('case_no_seq')::text, 6, '0'),
                item->>'status', item->>'pending_reason', item->>'category', (item->>'urgent')::boolean,
                v_lon, v_lat, (item->>'grid_version')::integer, item->>'grid_code', item->>'department',
                (item->>'routing_rule_id')::integer, item->'routing_rule', v_at, v_at,
                CASE WHEN item->>'status' = 'dispatched' THEN v_at END,
                (item->>'deadline_at')::timestamptz, v_at);
        INSERT INTO events (case_id, type, at, actor, data)
        VALUES (v_case_id, 'case.created', v_at, item->>'actor',
                jsonb_build_object('report_id', v_report_id, 'grid', item->>'grid_code',
                                   'pending_reason', item->>'pending_reason'));
        IF item->>'status' = 'dispatched' THEN
            INSERT INTO events (case_id, type, at, actor, data)
            VALUES (v_case_id, 'case.dispatched', v_at, 'routing',
                    jsonb_build_object('department', item->>'department', 'deadline_at', item->>'deadline_at',
                                       'routing_rule', item->'routing_rule'));
        END IF;
    END IF;

    SELECT c.id, c.case_no, c.status, c.pending_reason, c.deadline_at, c.grid_code, g.name AS grid_name,
           c.department, d.name AS department_name
      INTO v_case
      FROM cases c
      LEFT JOIN grid_cells g ON g.version = c.grid_version AND g.code = c.grid_code
      LEFT JOIN departments d ON d.code = c.department
     WHERE c.id = v_case_id;

    v_response := jsonb_build_object(
        'report_id', v_report_id,
        'case_id', v_case.id,
        'case_no', v_case.case_no,
        'duplicate', v_duplicate,
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
    VALUES (v_report_id, (item->>'token_id')::integer, item->>'client_id', decode(item->>'body_hash', 'hex'),
            v_case_id, v_duplicate, item->>'category', v_lon, v_lat, item->>'crs',
            (item->>'input_lon')::double precision, (item->>'input_lat')::double precision,
            (item->>'accuracy_m')::double precision, (item->>'urgent')::boolean,
            item->>'description', item->>'address', (item->>'observed_at')::timestamptz, v_at, v_response);
    INSERT INTO report_media (report_id, position, sha256)
    SELECT v_report_id, (m.ordinality - 1)::smallint, m.value
      FROM jsonb_array_elements_text(coalesce(item->'media', '[]')) WITH ORDINALITY AS m (value, ordinality);

    RETURN jsonb_build_object('outcome', 'created', 'response', v_response);
END $$;

-- A batch in one transaction: take every advisory lock the batch needs
-- (idempotency keys and duplicate-search areas), in sorted order so that
-- concurrent batches cannot deadlock on them, then take the items in the order given.
CREATE FUNCTION intake_batch(items jsonb[], lock_keys bigint[]) RETURNS jsonb[] LANGUAGE plpgsql AS $$
DECLARE
    v_key     bigint;
    v_results jsonb[] := '{}';
    v_item    jsonb;
BEGIN
    FOR v_key IN SELECT DISTINCT k FROM unnest(lock_keys) AS k ORDER BY k LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
    FOREACH v_item IN ARRAY items LOOP
        v_results := v_results || intake_one(v_item);
    END LOOP;
    RETURN v_results;
END $$;

-- Core schema: configuration, versioned grids, tokens, reports, cases and the append-only event log.

-- Entries dropped from the configuration stay (cases refer to them) but become inactive.
CREATE TABLE departments (
    code   text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,64}$'),
    name   text NOT NULL CHECK (length(name) > 0),
    active boolean NOT NULL DEFAULT true
);

CREATE TABLE categories (
    code                   text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,64}$'),
    name                   text NOT NULL CHECK (length(name) > 0),
    class_code             text,
    limit_hours            numeric NOT NULL CHECK (limit_hours > 0),
    urgent_limit_hours     numeric CHECK (urgent_limit_hours > 0),
    clock                  text NOT NULL CHECK (clock IN ('working', 'natural')),
    duplicate_radius_m     double precision NOT NULL DEFAULT 0 CHECK (duplicate_radius_m >= 0),
    duplicate_window_hours double precision NOT NULL DEFAULT 0 CHECK (duplicate_window_hours >= 0),
    active                 boolean NOT NULL DEFAULT true
);

-- category NULL means "*" (every category); area '' means everywhere.
CREATE TABLE routing_rules (
    id         serial PRIMARY KEY,
    category   text REFERENCES categories (code),
    area       text NOT NULL CHECK (area ~ '^[0-9]{0,15}$'),
    department text NOT NULL REFERENCES departments (code)
);
CREATE UNIQUE INDEX routing_rules_unique ON routing_rules (coalesce(category, '*'), area);

CREATE TABLE calendar (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    timezone           text NOT NULL,
    working_weekdays   smallint[] NOT NULL,  -- ISO weekday numbers, 1 = Monday
    official_holidays  text CHECK (official_holidays IN ('CN'))
);

CREATE TABLE calendar_periods (
    starts time NOT NULL,
    ends   time NOT NULL,
    PRIMARY KEY (starts),
    CHECK (ends > starts)
);

CREATE TABLE calendar_days (
    day  date PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('holiday', 'working'))
);

-- Every load-config bumps the generation; workers poll it to pick up new configuration.
CREATE TABLE config_state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    source     text NOT NULL
);

CREATE TABLE grid_versions (
    version   serial PRIMARY KEY,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    source    text NOT NULL,
    digest    text NOT NULL
);

CREATE TABLE grid_cells (
    version  integer NOT NULL REFERENCES grid_versions (version),
    code     text NOT NULL CHECK (code ~ '^[0-9]{15}$'),
    name     text NOT NULL,
    geometry bytea NOT NULL,  -- WKB, WGS84 lon/lat
    min_lon  double precision NOT NULL,
    min_lat  double precision NOT NULL,
    max_lon  double precision NOT NULL,
    max_lat  double precision NOT NULL,
    PRIMARY KEY (version, code)
);

CREATE TABLE api_tokens (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
    role       text NOT NULL CHECK (role IN ('inspector', 'department', 'dispatcher', 'viewer', 'admin')),
    department text REFERENCES departments (code),
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'department') = (department IS NOT NULL))
);

-- Hot tables (cases, reports, events) do not carry foreign keys to the configuration and token
-- tables: every such check takes a FOR KEY SHARE lock on a handful of very popular rows (one
-- department, one category, one inspector's token), which under concurrent intake turns into
-- multixact churn and cost most of the intake budget. Integrity is kept another way: rows of
-- those tables are never deleted (dropped entries become inactive, tokens are revoked), which the
-- triggers at the end of this file enforce, and intake takes its codes from the loaded configuration.
CREATE SEQUENCE case_no_seq;

CREATE TABLE cases (
    id               uuid PRIMARY KEY,
    case_no          text NOT NULL UNIQUE,
    status           text NOT NULL CHECK (status IN
                       ('pending_dispatch', 'dispatched', 'in_progress', 'resolved', 'closed', 'cancelled')),
    pending_reason   text CHECK (pending_reason IN ('outside_grid', 'no_rule', 'rejected')),
    category         text NOT NULL,
    urgent           boolean NOT NULL,
    lon              double precision NOT NULL,
    lat              double precision NOT NULL,
    grid_version     integer,
    grid_code        text,
    department       text,
    routing_rule_id  integer,
    routing_rule     jsonb,  -- the deciding rule as it was, kept even if the rule is later replaced
    created_at       timestamptz NOT NULL,
    last_reported_at timestamptz NOT NULL,
    report_count     integer NOT NULL DEFAULT 1,
    dispatched_at    timestamptz,
    deadline_at      timestamptz,
    rework_count     integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL,
    CHECK ((status = 'pending_dispatch') = (pending_reason IS NOT NULL))
);

-- Duplicate search: open cases of one category in a small lat/lon box, last reported recently.
-- lon and last_reported_at are in the key so that the box and the window are checked inside
-- the index and only real candidates are read from the table.
CREATE INDEX cases_open_nearby ON cases (category, lat, lon, last_reported_at)
    WHERE status NOT IN ('closed', 'cancelled');

CREATE TABLE reports (
    id          uuid PRIMARY KEY,
    token_id    integer NOT NULL,
    client_id   text NOT NULL CHECK (client_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    body_hash   bytea NOT NULL,
    case_id     uuid NOT NULL REFERENCES cases (id),
    duplicate   boolean NOT NULL,
    category    text NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    crs         text NOT NULL CHECK (crs IN ('wgs84', 'gcj02')),
    input_lon   double precision NOT NULL,  -- as submitted, before datum conversion
    input_lat   double precision NOT NULL,
    accuracy_m  double precision,
    urgent      boolean NOT NULL,
    description text,
    address     text,
    observed_at timestamptz,
    received_at timestamptz NOT NULL,
    response    jsonb NOT NULL,  -- the acknowledgement, replayed verbatim to a retry
    UNIQUE (token_id, client_id)
);
CREATE INDEX reports_by_case ON reports (case_id, received_at);

CREATE TABLE report_media (
    report_id uuid NOT NULL REFERENCES reports (id),
    position  smallint NOT NULL,
    sha256    text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (report_id, position)
);

CREATE TABLE events (
    seq     bigserial PRIMARY KEY,
    case_id uuid NOT NULL REFERENCES cases (id),
    type    text NOT NULL,
    at      timestamptz NOT NULL,
    actor   text,
    note    text,
    data    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_case ON events (case_id, seq);

-- The log is append-only: refuse UPDATE and DELETE at the database.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Configuration that cases refer to is never deleted (see the note above the cases table).
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted; deactivate or revoke instead', TG_TABLE_NAME;
END $$;
CREATE TRIGGER categories_keep BEFORE DELETE ON categories FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER departments_keep BEFORE DELETE ON departments FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER grid_cells_keep BEFORE DELETE ON grid_cells FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER api_tokens_keep BEFORE DELETE ON api_tokens FOR EACH ROW EXECUTE FUNCTION refuse_delete();

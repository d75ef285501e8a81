"""Configuration in the database: load a validated bundle atomically, read a snapshot back."""

from __future__ import annotations

import asyncio

import asyncpg
import numpy as np
import shapely

from geo.grid import Cell, Grid
from grid_service.configuration.catalogue import CategoryConfig
from grid_service.configuration.disputes import DisputesConfig
from grid_service.configuration.evaluation import EvaluationConfig
from grid_service.configuration.files import CalendarConfig, ConfigBundle, DepartmentConfig, Weekday
from grid_service.configuration.filing import FilingConfig
from grid_service.configuration.people import InspectorConfig, InspectorsConfig, LabelsConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db.pool import Conn
from grid_service.domain.deadlines import Clock
from grid_service.domain.escalation import Rung
from grid_service.domain.routing import WILDCARD, Rule

UPSERT_DEPARTMENT = """
INSERT INTO departments (code, name, active) VALUES ($1, $2, true)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, active = true
"""
DEACTIVATE_DEPARTMENTS = "UPDATE departments SET active = false WHERE NOT (code = ANY($1::text[]))"
UPSERT_CATEGORY = """
INSERT INTO categories (code, name, class_code, limit_hours, urgent_limit_hours, clock,
                        duplicate_radius_m, duplicate_window_hours, conditions, default_condition, acceptance_hours,
                        active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true)
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name, class_code = EXCLUDED.class_code, limit_hours = EXCLUDED.limit_hours,
    urgent_limit_hours = EXCLUDED.urgent_limit_hours, clock = EXCLUDED.clock,
    duplicate_radius_m = EXCLUDED.duplicate_radius_m,
    duplicate_window_hours = EXCLUDED.duplicate_window_hours, conditions = EXCLUDED.conditions,
    default_condition = EXCLUDED.default_condition, acceptance_hours = EXCLUDED.acceptance_hours, active = true
"""
DEACTIVATE_CATEGORIES = "UPDATE categories SET active = false WHERE NOT (code = ANY($1::text[]))"
DELETE_RULES = "DELETE FROM routing_rules"
INSERT_RULE = "INSERT INTO routing_rules (category, area, department) VALUES ($1, $2, $3)"
DELETE_CALENDAR = "DELETE FROM calendar; DELETE FROM calendar_periods; DELETE FROM calendar_days"
INSERT_CALENDAR = """
INSERT INTO calendar (timezone, working_weekdays, official_holidays) VALUES ($1, $2, $3)
"""
DELETE_ESCALATION = "DELETE FROM escalation_levels"
INSERT_ESCALATION = "INSERT INTO escalation_levels (level, after_hours, name, clock) VALUES ($1, $2, $3, $4)"
SELECT_ESCALATION = "SELECT level, after_hours, name, clock FROM escalation_levels ORDER BY level"
INSERT_PERIOD = "INSERT INTO calendar_periods (starts, ends) VALUES ($1, $2)"
INSERT_DAY = "INSERT INTO calendar_days (day, kind) VALUES ($1, $2)"
LATEST_GRID = "SELECT version, digest FROM grid_versions ORDER BY version DESC LIMIT 1"
INSERT_GRID_VERSION = "INSERT INTO grid_versions (source, digest) VALUES ($1, $2) RETURNING version"
BUMP_GENERATION = """
INSERT INTO config_state (generation, source, filing, inspectors, labels, disputes, evaluation)
VALUES (1, $1, $2, $3, $4, $5, $6)
ON CONFLICT (singleton) DO UPDATE SET generation = config_state.generation + 1, loaded_at = now(),
                                      source = EXCLUDED.source, filing = EXCLUDED.filing,
                                      inspectors = EXCLUDED.inspectors, labels = EXCLUDED.labels,
                                      disputes = EXCLUDED.disputes, evaluation = EXCLUDED.evaluation
RETURNING generation
"""


async def store_bundle(conn: Conn, bundle: ConfigBundle) -> int:
    """Write the whole bundle in one transaction; returns the new configuration generation.

    A grid whose files are unchanged (same digest) keeps its version; a changed
    grid becomes a new version, and cases already assigned keep theirs.
    """
    async with conn.transaction():
        for d in bundle.departments:
            await conn.execute(UPSERT_DEPARTMENT, d.code, d.name)
        await conn.execute(DEACTIVATE_DEPARTMENTS, [d.code for d in bundle.departments])
        for c in bundle.categories:
            await conn.execute(
                UPSERT_CATEGORY,
                c.code,
                c.name,
                c.class_code,
                c.limit_hours,
                c.urgent_limit_hours,
                c.clock.value,
                c.duplicate_radius_m,
                c.duplicate_window_hours,
                [condition.model_dump(mode="json") for condition in c.conditions],
                c.default_condition,
                c.acceptance_hours,
            )
        await conn.execute(DEACTIVATE_CATEGORIES, [c.code for c in bundle.categories])
        await conn.execute(DELETE_RULES)
        await conn.executemany(
            INSERT_RULE,
            [(None if r.category == WILDCARD else r.category, r.area, r.department) for r in bundle.rules],
        )
        await _store_calendar(conn, bundle.calendar)
        await conn.execute(DELETE_ESCALATION)
        await conn.executemany(
            INSERT_ESCALATION,
            [(n, e.after_hours, e.to, e.clock.value) for n, e in enumerate(bundle.escalation, start=1)],
        )
        latest = await conn.fetchrow(LATEST_GRID)
        if latest is None or latest["digest"] != bundle.grid_digest:
            await store_grid(conn, bundle.cells, source=bundle.source, digest=bundle.grid_digest)
        generation: int = await conn.fetchval(
            BUMP_GENERATION,
            bundle.source,
            bundle.filing.model_dump(mode="json", exclude_defaults=True),
            bundle.inspectors.model_dump(mode="json"),
            bundle.labels.model_dump(mode="json"),
            bundle.disputes.model_dump(mode="json"),
            bundle.evaluation.model_dump(mode="json"),
        )
    return generation


async def _store_calendar(conn: Conn, calendar: CalendarConfig) -> None:
    await conn.execute(DELETE_CALENDAR)
    built = calendar.build()
    await conn.execute(INSERT_CALENDAR, calendar.timezone, sorted(built.working_weekdays), calendar.official_holidays)
    await conn.executemany(INSERT_PERIOD, [(p.starts, p.ends) for p in built.periods])
    days = [(d, "holiday") for d in calendar.holidays] + [(d, "working") for d in calendar.extra_working_days]
    await conn.executemany(INSERT_DAY, days)


async def store_grid(conn: Conn, cells: tuple[Cell, ...], *, source: str, digest: str) -> int:
    version: int = await conn.fetchval(INSERT_GRID_VERSION, source, digest)
    geometries = np.array([c.geometry for c in cells], dtype=object)
    wkb = shapely.to_wkb(geometries)
    bounds = shapely.bounds(geometries)
    await conn.copy_records_to_table(
        "grid_cells",
        records=[(version, c.code, c.name, wkb[i], *map(float, bounds[i])) for i, c in enumerate(cells)],
        columns=["version", "code", "name", "geometry", "min_lon", "min_lat", "max_lon", "max_lat"],
    )
    return version


SELECT_GENERATION = "SELECT generation FROM config_state"
SELECT_STATE = "SELECT generation, filing, inspectors, labels, disputes, evaluation FROM config_state"
SELECT_DEPARTMENTS = "SELECT code, name, active FROM departments ORDER BY code"
SELECT_CATEGORIES = """
SELECT code, name, class_code, limit_hours::float8 AS limit_hours, urgent_limit_hours::float8 AS urgent_limit_hours,
       clock, duplicate_radius_m, duplicate_window_hours, conditions, default_condition,
       acceptance_hours::float8 AS acceptance_hours
  FROM categories WHERE active ORDER BY code
"""
SELECT_RULES = "SELECT id, coalesce(category, '*') AS category, area, department FROM routing_rules ORDER BY id"
SELECT_CALENDAR = "SELECT timezone, working_weekdays, official_holidays FROM calendar"
SELECT_PERIODS = "SELECT starts, ends FROM calendar_periods ORDER BY starts"
SELECT_DAYS = "SELECT day, kind FROM calendar_days"
SELECT_GRID_CELLS = "SELECT code, name, geometry FROM grid_cells WHERE version = $1"

WEEKDAY_NAMES: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# Who answers for which cells (SPEC §13): the inspectors' accounts take the list over; a name in
# inspectors.toml with no account keeps its cells (the file seeds the list), one with an account,
# enabled or not, is the account's.
SELECT_INSPECTORS = """
SELECT (SELECT inspectors FROM config_state) AS listed,
       coalesce((SELECT jsonb_agg(jsonb_build_object('name', t.name, 'grids', u.grids, 'enabled', u.disabled_at IS NULL)
                                  ORDER BY t.name)
                   FROM users u JOIN api_tokens t ON t.id = u.token_id
                  WHERE u.role = 'inspector'), '[]') AS accounts
"""
# What changes when an account is created or disabled (the followers re-read the inspectors then).
SELECT_PEOPLE_STAMP = """
SELECT count(*) || '/' || coalesce(max(created_at)::text, '-') || '/' || coalesce(max(disabled_at)::text, '-')
  FROM users
"""


async def people_stamp(conn: Conn) -> str:
    stamp: str = await conn.fetchval(SELECT_PEOPLE_STAMP)
    return stamp


async def read_inspectors(conn: Conn) -> InspectorsConfig:
    row = await conn.fetchrow(SELECT_INSPECTORS)
    listed = InspectorsConfig.model_validate(row["listed"] or {}) if row else InspectorsConfig()
    accounts = row["accounts"] if row else []
    with_account = {a["name"] for a in accounts}
    seeded = [i for i in listed.inspector if i.name not in with_account]
    own = [InspectorConfig(name=a["name"], grids=tuple(a["grids"])) for a in accounts if a["enabled"] and a["grids"]]
    return InspectorsConfig(inspector=tuple(sorted([*seeded, *own], key=lambda i: i.name)))


async def current_generation(conn: Conn) -> int | None:
    value: int | None = await conn.fetchval(SELECT_GENERATION)
    return value


async def read_snapshot(conn: Conn, *, snap_m: float) -> ConfigSnapshot | None:
    """The configuration currently in the database, or None when none was ever loaded."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        state = await conn.fetchrow(SELECT_STATE)
        if state is None:
            return None
        generation = state["generation"]
        departments = await conn.fetch(SELECT_DEPARTMENTS)
        categories = await conn.fetch(SELECT_CATEGORIES)
        rules = await conn.fetch(SELECT_RULES)
        calendar_row = await conn.fetchrow(SELECT_CALENDAR)
        periods = await conn.fetch(SELECT_PERIODS)
        days = await conn.fetch(SELECT_DAYS)
        ladder = await conn.fetch(SELECT_ESCALATION)
        latest = await conn.fetchrow(LATEST_GRID)
        cell_rows = await conn.fetch(SELECT_GRID_CELLS, latest["version"]) if latest else []
        inspectors = await read_inspectors(conn)
        people = await people_stamp(conn)
    if calendar_row is None:
        raise RuntimeError("configuration generation recorded without a calendar")
    calendar = CalendarConfig(
        timezone=calendar_row["timezone"],
        working_hours=[(p["starts"].strftime("%H:%M"), p["ends"].strftime("%H:%M")) for p in periods],
        working_weekdays=[WEEKDAY_NAMES[d - 1] for d in calendar_row["working_weekdays"]],
        official_holidays=calendar_row["official_holidays"],
        holidays=[r["day"] for r in days if r["kind"] == "holiday"],
        extra_working_days=[r["day"] for r in days if r["kind"] == "working"],
    )
    grid = await asyncio.to_thread(_build_grid, cell_rows, snap_m)
    return ConfigSnapshot(
        generation=generation,
        departments={r["code"]: DepartmentConfig(code=r["code"], name=r["name"]) for r in departments if r["active"]},
        categories={r["code"]: CategoryConfig.model_validate(dict(r)) for r in categories},
        rules=tuple(Rule(r["id"], r["category"], r["area"], r["department"]) for r in rules),
        calendar=calendar.build(),
        grid=grid,
        grid_version=latest["version"] if latest else None,
        escalation=tuple(Rung(r["level"], r["after_hours"], r["name"], Clock(r["clock"])) for r in ladder),
        filing=FilingConfig.model_validate(state["filing"]),
        inspectors=inspectors,
        people=people,
        labels=LabelsConfig.model_validate(state["labels"]),
        disputes=DisputesConfig.model_validate(state["disputes"]),
        evaluation=EvaluationConfig.model_validate(state["evaluation"]),
    )


def _build_grid(rows: list[asyncpg.Record], snap_m: float) -> Grid:
    geometries = shapely.from_wkb([r["geometry"] for r in rows]) if rows else []
    cells = [Cell(code=r["code"], name=r["name"], geometry=g) for r, g in zip(rows, geometries, strict=True)]
    return Grid(cells, snap_m=snap_m)

"""Cases and their event history."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grid_service.db.pool import Conn
from grid_service.db.rows import CaseView, Disputes, LockedCase, many, one
from grid_service.domain.states import FINISHED, OPEN
from grid_service.domain.steps import YELLOW_FROM
from grid_service.errors import NotFound
from grid_service.schemas import parse_bbox
from grid_service.schemas.types import period_instant

# A case as every read presents it: its columns and the names of its category, cell and department.
CASE_READ = """
SELECT c.id, c.case_no, c.status, c.pending_reason, c.category, k.name AS category_name, c.urgent,
       c.lon, c.lat, c.grid_version, c.grid_code, g.name AS grid_name, c.department, d.name AS department_name,
       c.routing_rule, c.created_at, c.dispatched_at, c.deadline_at, c.warn_at, c.rework_count, c.report_count,
       c.updated_at, c.source, c.resolution, c.step_since, c.condition, c.original_deadline_at, c.suspended_until,
       c.open_request, c.returns, c.extensions, c.supervision_due_at, c.ruled_department, c.accept_due_at{extra}
  FROM {source}
  JOIN categories k ON k.code = c.category
  LEFT JOIN grid_cells g ON g.version = c.grid_version AND g.code = c.grid_code
  LEFT JOIN departments d ON d.code = c.department
"""
SELECT_EVENTS = "SELECT seq, type, at, actor, note, data FROM events WHERE case_id = $1 ORDER BY seq"


# A case's dispute columns, in the order of rows.Disputes.
DISPUTES = ", ".join(f"c.{name}" for name in Disputes._fields)
# What an action's rules read, with the row version (xmin: every update of the row changes it).
CASE_FOR_ACTION = f"""
SELECT c.id, c.status, c.pending_reason, c.department, c.category, c.urgent, c.dispatched_at, c.deadline_at,
       c.warn_at, c.rework_count, c.routing_rule_id, c.routing_rule, c.grid_code,
       c.lon IS NOT NULL AS placed, c.source, c.condition, c.step_since,
       EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.id AND t.status = 'open') AS checks_open,
       k.limit_hours::float8 AS limit_hours, k.urgent_limit_hours::float8 AS urgent_limit_hours, k.clock,
       c.xmin AS version, {DISPUTES}
  FROM cases c JOIN categories k ON k.code = c.category
"""
LOCK_CASE = CASE_FOR_ACTION + " WHERE c.id = $1 FOR UPDATE OF c"
READ_CASES = CASE_FOR_ACTION + " WHERE c.id = ANY($1::uuid[])"

INSERT_EVENT = """
INSERT INTO events (case_id, type, at, actor, note, data, department, deadline_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq
"""
HELD_BY = "SELECT EXISTS (SELECT 1 FROM events WHERE case_id = $1 AND department = $2)"
LAST_RESOLUTION_ON_TIME = """
SELECT (data->>'on_time')::boolean FROM events WHERE case_id = $1 AND type = 'case.resolved' ORDER BY seq DESC LIMIT 1
"""


async def lock_case_or_raise(conn: Conn, case_id: uuid.UUID) -> LockedCase:
    """The case row, locked until the end of the transaction (racing actions queue here); NotFound
    when there is none."""
    row = await conn.fetchrow(LOCK_CASE, case_id)
    if row is None:
        raise NotFound("no such case")
    return one(LockedCase, row)


async def read_cases(conn: Conn, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LockedCase]:
    """The cases unlocked, for actions written in one statement guarded by each row's ``version``."""
    return {row.id: row for row in many(LockedCase, await conn.fetch(READ_CASES, list(case_ids)))}


async def append_event(
    conn: Conn,
    case_id: uuid.UUID,
    *,
    type: str,
    at: dt.datetime,
    actor: str,
    note: str | None,
    data: dict[str, Any],
    department: str | None,
    deadline_at: dt.datetime | None = None,
) -> int:
    """Append one event; ``department`` is whom it counts for in the statistics."""
    seq: int = await conn.fetchval(INSERT_EVENT, case_id, type, at, actor, note, data, department, deadline_at)
    return seq


async def was_held_by(conn: Conn, case_id: uuid.UUID, department: str) -> bool:
    """Whether the department ever had the case (an event counted for it: dispatched to it, rejected by it)."""
    held: bool = await conn.fetchval(HELD_BY, case_id, department)
    return held


async def last_resolution_on_time(conn: Conn, case_id: uuid.UUID) -> bool | None:
    """Whether the case's latest resolution came at or before the deadline in force then."""
    value: bool | None = await conn.fetchval(LAST_RESOLUTION_ON_TIME, case_id)
    return value


LIST_CASES = (
    CASE_READ.format(extra="", source="cases c")
    + """
 WHERE {where}
 ORDER BY c.id DESC
 LIMIT {limit}
"""
)
# Filter clauses: constants with a numbered placeholder slot; values always travel as parameters.
CLAUSES = {
    "category": "c.category = ${n}",
    "department": "c.department = ${n}",
    "grid_prefix": "starts_with(c.grid_code, ${n})",
    "min_lon": "c.lon >= ${n}",
    "min_lat": "c.lat >= ${n}",
    "max_lon": "c.lon <= ${n}",
    "max_lat": "c.lat <= ${n}",
    "open_request": "c.open_request IS NOT NULL AND c.open_request->>'kind' = ${n}",  # cases_by_open_request
    "case_no": "c.case_no = ${n}",
    "source": "c.source = ${n}",
    "since": "c.created_at >= ${n}",
    "until": "c.created_at < ${n}",
    "before_id": "c.id < ${n}",
}
OVERDUE = "(c.status IN ('dispatched', 'in_progress') AND coalesce(c.deadline_at <= ${n}, false))"
# The partial indexes of the workbench's lists (migration 0025) hold the cases not finished.
FINISHED_STATUSES = frozenset(status.value for status in FINISHED)
OPEN_STATUSES = frozenset(status.value for status in OPEN)
OPEN_ONLY = "c.status NOT IN ({})".format(", ".join(f"'{status}'" for status in sorted(FINISHED_STATUSES)))
ANY_OPEN_REQUEST = "c.open_request IS NOT NULL"
SUPERVISED = "c.supervision_due_at IS NOT NULL"
REWORKED = "c.rework_count > 0"
# A light as the presenter shows it (domain/lights.py, domain/steps.py), as a condition on instants:
# {now}; for the steps, {accept_red}/{accept_yellow} and {dispatch_red}/{dispatch_yellow} are the
# instants a step's wait must have started by to be past its limit or its 80 %.
RUNNING = "c.status IN ('dispatched', 'in_progress') AND c.deadline_at IS NOT NULL"
LIGHTS = {
    "red": f"(({RUNNING} AND c.deadline_at <= {{now}})"
    " OR (c.status = 'reported' AND c.step_since <= {accept_red})"
    " OR (c.status = 'pending_dispatch' AND c.step_since <= {dispatch_red}))",
    "yellow": f"(({RUNNING} AND c.deadline_at > {{now}} AND (c.warn_at IS NULL OR c.warn_at <= {{now}}))"
    " OR (c.status = 'reported' AND c.step_since > {accept_red} AND c.step_since <= {accept_yellow})"
    " OR (c.status = 'pending_dispatch' AND c.step_since > {dispatch_red} AND c.step_since <= {dispatch_yellow}))",
    "green": f"(({RUNNING} AND c.deadline_at > {{now}} AND c.warn_at > {{now}})"
    " OR (c.status = 'reported' AND c.step_since > {accept_yellow})"
    " OR (c.status = 'pending_dispatch' AND c.step_since > {dispatch_yellow}))",
    "suspended": "c.status = 'suspended'",
}


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What GET /api/v1/cases may filter on; None means "any"."""

    now: dt.datetime
    statuses: list[str] | None = None
    category: str | None = None
    department: str | None = None
    grid_prefix: str | None = None
    min_lon: float | None = None
    min_lat: float | None = None
    max_lon: float | None = None
    max_lat: float | None = None
    overdue: bool | None = None
    open_request: str | None = None  # the kind of request open on it
    any_open_request: bool = False
    case_no: str | None = None
    source: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    supervised: bool = False  # only cases whose 督办 reply is due
    reworked: bool = False
    light: str | None = None
    step_minutes: Mapping[str, float] | None = None  # filing.toml [steps], for the lights of the steps
    before_id: uuid.UUID | None = None  # keyset: the last id of the previous page

    @classmethod
    def from_query(
        cls,
        query: Any,
        *,
        now: dt.datetime,
        statuses: list[str] | None,
        before_id: uuid.UUID | None,
        timezone: dt.tzinfo,
        step_minutes: Mapping[str, float],
    ) -> CaseFilter:
        bbox: tuple[float | None, ...] = parse_bbox(query.bbox) if query.bbox else (None, None, None, None)
        any_request = query.open_request == "any"
        return cls(
            now=now,
            statuses=statuses,
            category=query.category,
            department=query.department,
            grid_prefix=query.grid,
            min_lon=bbox[0],
            min_lat=bbox[1],
            max_lon=bbox[2],
            max_lat=bbox[3],
            overdue=query.overdue,
            open_request=None if any_request else query.open_request,
            any_open_request=any_request,
            case_no=query.case_no,
            source=query.source,
            since=period_instant(query.since, timezone) if query.since else None,
            until=period_instant(query.until, timezone) if query.until else None,
            supervised=bool(query.supervised),
            reworked=bool(query.reworked),
            light=query.light,
            step_minutes=step_minutes,
            before_id=before_id,
        )


def _status_clauses(statuses: list[str], params: list[Any]) -> list[str]:
    """One status as an equality, several as ANY; and, when all are open, the open cases' own
    predicate written out, so that the planner may read the lists' partial indexes newest first."""
    if set(statuses) == OPEN_STATUSES:  # every open case: the predicate alone, read newest first
        return [OPEN_ONLY]
    params.append(statuses[0] if len(statuses) == 1 else statuses)
    clauses = [f"c.status = ${len(params)}" if len(statuses) == 1 else f"c.status = ANY(${len(params)}::text[])"]
    if not set(statuses) & FINISHED_STATUSES:
        clauses.append(OPEN_ONLY)
    return clauses


def light_condition(light: str, now: dt.datetime, step_minutes: Mapping[str, float] | None, params: list[Any]) -> str:
    """The condition for a light, its instants appended to ``params``."""
    minutes = step_minutes or {}
    instants = {"now": now}
    for step in ("accept", "dispatch"):
        limit = dt.timedelta(minutes=minutes.get(step, 0))
        instants[f"{step}_red"] = now - limit
        instants[f"{step}_yellow"] = now - limit * YELLOW_FROM
    template = LIGHTS[light]
    slots: dict[str, str] = {}
    for name, value in instants.items():
        if f"{{{name}}}" in template:  # a parameter the statement does not use has no type
            params.append(value)
            slots[name] = f"${len(params)}"
    return template.format(**slots)


def encode_cursor(case_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(case_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """Raises ValueError for anything that is not a cursor this service gave out."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return uuid.UUID(bytes=raw)


async def list_cases(conn: Conn, filters: CaseFilter, *, limit: int) -> list[CaseView]:
    """Newest first (ids are time-ordered), at most ``limit`` rows."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.statuses is not None:
        clauses.extend(_status_clauses(filters.statuses, params))
    for name, template in CLAUSES.items():
        value = getattr(filters, name)
        if value is not None:
            params.append(value)
            clauses.append(template.format(n=len(params)))
    if filters.overdue is not None:
        params.append(filters.now)
        overdue = OVERDUE.format(n=len(params))
        clauses.append(overdue if filters.overdue else f"NOT {overdue}")
    clauses += [
        clause
        for clause, wanted in (
            (ANY_OPEN_REQUEST, filters.any_open_request),
            (SUPERVISED, filters.supervised),
            (REWORKED, filters.reworked),
        )
        if wanted
    ]
    if filters.light is not None:
        clauses.append(light_condition(filters.light, filters.now, filters.step_minutes, params))
    params.append(limit)
    sql = LIST_CASES.format(where=" AND ".join(clauses) or "true", limit=f"${len(params)}")
    return many(CaseView, await conn.fetch(sql, *params))

"""Map snapshots: the cases as the map draws them (the open ones, and those finished since an instant),
and the open cases per cell."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import NamedTuple

from grid_service.db.pool import Conn
from grid_service.db.rows import MapCase, many
from grid_service.domain.states import FINISHED


class MapRow(NamedTuple):
    """A case as the map draws it, and when it finished (closed, cancelled or voided; None: open)."""

    case: MapCase
    finished_at: dt.datetime | None


class FinishedRow(NamedTuple):
    """A finished case as the map draws it, and when it finished."""

    case: MapCase
    finished_at: dt.datetime


# Open: not finished (domain/states.FINISHED). Written as the partial indexes' own predicate plus
# `<> 'voided'`, so that the planner still sees those indexes apply.
# A case as the map and the feed present it (presenters.map_feature): no names, no joins.
MAP_CASE = """
SELECT c.id, c.case_no, c.status, c.pending_reason, c.category, c.department, c.grid_code, c.urgent,
       c.lon, c.lat, c.created_at, c.deadline_at, c.warn_at, c.source, c.step_since,
       c.open_request->>'kind' AS open_request, c.supervision_due_at, c.suspended_until{extra}
  FROM {source}
"""
MAP_COLUMNS = (
    "id, case_no, status, pending_reason, category, department, grid_code, urgent, lon, lat, created_at, "
    "deadline_at, warn_at, source, step_since, open_request, supervision_due_at, suspended_until"
)


def with_checks(page: str, *, extra: str = "", order: str) -> str:
    """A page of MAP_CASE rows with the check an inspector is out on, if any: one probe of the
    open-task index per row of the page, joined outside it, so the page's own plan stays the
    keyset scan it was (joined inside, a cached generic plan sorted the whole table per page)."""
    columns = ", ".join(f"q.{name.strip()}" for name in MAP_COLUMNS.split(","))
    extras = "".join(f", q.{name.strip()}" for name in extra.split(",") if name.strip())
    return f"""
SELECT {columns}, k.kind AS check_kind, k.assigned_to AS check_assigned_to, k.due_at AS check_due_at{extras}
  FROM ({page}) AS q
  LEFT JOIN LATERAL (SELECT t.kind, t.assigned_to, t.due_at FROM tasks t
                      WHERE t.case_id = q.id AND t.status = 'open' ORDER BY t.created_at LIMIT 1) AS k ON true
 ORDER BY {order}
"""


MAP_CASES = with_checks(
    MAP_CASE.format(extra="", source="cases c")
    + """
 WHERE ($1::boolean OR (c.status NOT IN ('closed', 'cancelled') AND c.status <> 'voided'))
   AND ($2::float8 IS NULL OR (c.lon BETWEEN $2 AND $4 AND c.lat BETWEEN $3 AND $5))
   AND ($6::text IS NULL OR c.department = $6)
   AND c.id > $7  -- from the start: the nil uuid (a plain bound keeps the keyset index in every plan)
 ORDER BY c.id
 LIMIT $8
""",
    order="q.id",
)
# The cases finished since an instant, in (finished_at, id) order after a position of that order:
# a range of case_facts_finished (migration 0026), each joined to its case. `finished_at >= $1`
# beside the row comparison lets the planner see that the partial index applies. Finishing is final,
# so the status test drops nothing: it keeps the answer to what the case is, whatever its log says.
FINISHED_SINCE = with_checks(
    MAP_CASE.format(extra=", f.finished_at", source="case_facts f JOIN cases c ON c.id = f.case_id")
    + """
 WHERE f.finished_at >= $1 AND (f.finished_at, f.case_id) > ($1, $2)
   AND c.status IN ('closed', 'cancelled', 'voided')
   AND ($3::float8 IS NULL OR (c.lon BETWEEN $3 AND $5 AND c.lat BETWEEN $4 AND $6))
   AND ($7::text IS NULL OR c.department = $7)
 ORDER BY f.finished_at, f.case_id
 LIMIT $8
""",
    extra="finished_at",
    order="q.finished_at, q.id",
)
# When the finished cases of a page of MAP_CASES (status=all) finished.
FINISHED_AT = """
SELECT case_id, finished_at FROM case_facts WHERE case_id = ANY($1::uuid[]) AND finished_at IS NOT NULL
"""
OPEN_PER_CELL = """
SELECT grid_code, count(*) AS open_cases FROM cases
 WHERE grid_version = $1 AND status NOT IN ('closed', 'cancelled') AND status <> 'voided'
   AND ($2::text IS NULL OR department = $2)
 GROUP BY grid_code
"""


async def map_cases(
    conn: Conn,
    *,
    include_closed: bool,
    bbox: tuple[float, float, float, float] | None,
    department: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[MapRow]:
    """One page of the map's cases in id order, after the case ``after`` (None: from the start): the
    open ones, or every one with ``include_closed``, each finished one with when it finished."""
    box = bbox or (None, None, None, None)
    start = after or uuid.UUID(int=0)  # below every id (a cached generic plan cannot drop an IS NULL test)
    cases = many(MapCase, await conn.fetch(MAP_CASES, include_closed, *box, department, start, limit))
    finished = [c.id for c in cases if c.status in FINISHED]
    ended: dict[uuid.UUID, dt.datetime] = {}
    if finished:  # a probe of the page's finished cases only: an open map's pages pay nothing for it
        ended = {r["case_id"]: r["finished_at"] for r in await conn.fetch(FINISHED_AT, finished)}
    return [MapRow(c, ended.get(c.id)) for c in cases]


async def finished_map_cases(
    conn: Conn,
    *,
    since: dt.datetime,
    bbox: tuple[float, float, float, float] | None,
    department: str | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[FinishedRow]:
    """One page of the cases finished (closed, cancelled, voided) at or after ``since``, in the order
    of (finished_at, id), after the position ``after`` (None: from ``since``)."""
    box = bbox or (None, None, None, None)
    at, start = after or (since, uuid.UUID(int=0))
    rows = await conn.fetch(FINISHED_SINCE, at, start, *box, department, limit)
    return [FinishedRow(MapCase(*r[:-1]), r["finished_at"]) for r in rows]


async def open_cases_per_cell(conn: Conn, *, grid_version: int, department: str | None) -> dict[str, int]:
    """Open cases per cell of the grid version, of one department (None: of all)."""
    rows = await conn.fetch(OPEN_PER_CELL, grid_version, department)
    return {r["grid_code"]: r["open_cases"] for r in rows}

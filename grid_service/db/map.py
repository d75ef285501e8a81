"""Map snapshots: the cases as the map draws them, and the open cases per cell."""

from __future__ import annotations

import uuid

from grid_service.db.pool import Conn
from grid_service.db.rows import MapCase, many

# Open: not finished (domain/states.FINISHED). Written as the partial indexes' own predicate plus
# `<> 'voided'`, so that the planner still sees those indexes apply.
# A case as the map and the feed present it (presenters.map_feature): no names, no joins.
MAP_CASE = """
SELECT c.id, c.case_no, c.status, c.pending_reason, c.category, c.department, c.grid_code, c.urgent,
       c.lon, c.lat, c.created_at, c.deadline_at, c.warn_at, c.source, c.step_since{extra}
  FROM {source}
"""
MAP_CASES = (
    MAP_CASE.format(extra="", source="cases c")
    + """
 WHERE ($1::boolean OR (c.status NOT IN ('closed', 'cancelled') AND c.status <> 'voided'))
   AND ($2::float8 IS NULL OR (c.lon BETWEEN $2 AND $4 AND c.lat BETWEEN $3 AND $5))
   AND ($6::text IS NULL OR c.department = $6)
   AND ($7::uuid IS NULL OR c.id > $7)
 ORDER BY c.id
 LIMIT $8
"""
)
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
) -> list[MapCase]:
    """One page of the map's cases in id order, after the case ``after`` (None: from the start)."""
    box = bbox or (None, None, None, None)
    return many(MapCase, await conn.fetch(MAP_CASES, include_closed, *box, department, after, limit))


async def open_cases_per_cell(conn: Conn, *, grid_version: int, department: str | None) -> dict[str, int]:
    """Open cases per cell of the grid version, of one department (None: of all)."""
    rows = await conn.fetch(OPEN_PER_CELL, grid_version, department)
    return {r["grid_code"]: r["open_cases"] for r in rows}

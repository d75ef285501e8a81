"""Reading the event log for the live feed and the map snapshots."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from grid_service.db import events as db_events
from grid_service.db.pool import Conn

# A case as the map and the feed present it (presenters.map_feature): no names, no joins.
MAP_CASE = """
SELECT c.id, c.case_no, c.status, c.pending_reason, c.category, c.department, c.grid_code, c.urgent,
       c.lon, c.lat, c.created_at, c.deadline_at, c.warn_at{extra}
  FROM {source}
"""
# Events in (after, upto], each with its case as it is now; filters are optional (NULL: any).
FEED_EVENTS = (
    MAP_CASE.format(
        extra=", e.seq, e.type AS event_type, e.at AS event_at",
        source="events e JOIN cases c ON c.id = e.case_id",
    )
    + """
 WHERE e.seq > $1 AND e.seq <= $2
   AND ($4::text IS NULL OR c.category = $4)
   AND ($5::text IS NULL OR c.department = $5)
   AND ($6::float8 IS NULL OR (c.lon BETWEEN $6 AND $8 AND c.lat BETWEEN $7 AND $9))
 ORDER BY e.seq
 LIMIT $3
"""
)
MAP_CASES = (
    MAP_CASE.format(extra="", source="cases c")
    + """
 WHERE ($1::boolean OR c.status NOT IN ('closed', 'cancelled'))
   AND ($2::float8 IS NULL OR (c.lon BETWEEN $2 AND $4 AND c.lat BETWEEN $3 AND $5))
   AND ($6::text IS NULL OR c.department = $6)
   AND ($7::uuid IS NULL OR c.id > $7)
 ORDER BY c.id
 LIMIT $8
"""
)
OPEN_PER_CELL = """
SELECT grid_code, count(*) AS open_cases FROM cases
 WHERE grid_version = $1 AND status NOT IN ('closed', 'cancelled')
   AND ($2::text IS NULL OR department = $2)
 GROUP BY grid_code
"""


@dataclass(frozen=True, slots=True)
class Area:
    """Filters of a feed or a snapshot; None means any."""

    category: str | None = None
    department: str | None = None
    bbox: tuple[float, float, float, float] | None = None

    def matches(self, row: asyncpg.Record) -> bool:
        if self.category is not None and row["category"] != self.category:
            return False
        if self.department is not None and row["department"] != self.department:
            return False
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            lon: float | None = row["lon"]
            lat: float | None = row["lat"]
            if lon is None or lat is None:
                return False  # placed by address alone: in no box
            return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
        return True


async def events(conn: Conn, *, after: int, upto: int, limit: int, area: Area | None = None) -> list[asyncpg.Record]:
    area = area or Area()
    box = area.bbox or (None, None, None, None)
    return await conn.fetch(FEED_EVENTS, after, upto, limit, area.category, area.department, *box)


async def live_position(conn: Conn, *, settle: dt.timedelta) -> int:
    """The newest position in the log with no gap below it that may still fill, found without knowing
    an earlier one: a conservative start, then forward to the safe horizon. Call it outside a
    transaction, so that everything up to it is committed before any later read's snapshot."""
    position = await db_events.safe_start(conn, settle=settle)
    while True:
        found = await db_events.horizon(conn, position, settle=settle)
        if found.seq == position:
            return position
        position = found.seq


async def map_cases(
    conn: Conn,
    *,
    include_closed: bool,
    bbox: tuple[float, float, float, float] | None,
    department: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    """One page of the map's cases in id order, after the case ``after`` (None: from the start)."""
    box = bbox or (None, None, None, None)
    return await conn.fetch(MAP_CASES, include_closed, *box, department, after, limit)


async def open_cases_per_cell(conn: Conn, *, grid_version: int, department: str | None) -> dict[str, int]:
    """Open cases per cell of the grid version, of one department (None: of all)."""
    rows = await conn.fetch(OPEN_PER_CELL, grid_version, department)
    return {r["grid_code"]: r["open_cases"] for r in rows}

"""Reading the event log for the live feed: events with their cases, and where following starts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grid_service.db import events as db_events
from grid_service.db.map import MAP_CASE, with_checks
from grid_service.db.pool import Conn
from grid_service.db.rows import FeedEvent, MapCase

# Events in (after, upto], each with its case as it is now; filters are optional (NULL: any).
FEED_EVENTS = with_checks(
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
""",
    extra="seq, event_type, event_at",
    order="q.seq",
)


@dataclass(frozen=True, slots=True)
class Area:
    """Filters of a feed or a snapshot; None means any."""

    category: str | None = None
    department: str | None = None
    bbox: tuple[float, float, float, float] | None = None

    def matches(self, case: MapCase) -> bool:
        if self.category is not None and case.category != self.category:
            return False
        if self.department is not None and case.department != self.department:
            return False
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            lon, lat = case.lon, case.lat
            if lon is None or lat is None:
                return False  # placed by address alone: in no box
            return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
        return True


async def events(conn: Conn, *, after: int, upto: int, limit: int, area: Area | None = None) -> list[FeedEvent]:
    area = area or Area()
    box = area.bbox or (None, None, None, None)
    return [
        FeedEvent.of(r) for r in await conn.fetch(FEED_EVENTS, after, upto, limit, area.category, area.department, *box)
    ]


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

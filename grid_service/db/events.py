"""Reading the event log: its safe horizon, and the department queue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from grid_service.db.cases import CASE_READ
from grid_service.db.pool import Conn
from grid_service.domain.horizon import LogEntry, safe_horizon

LOG_AFTER = """
SELECT seq, written_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2
"""
# The oldest transaction still writing anywhere (our own excluded): it may hold a sequence gap.
WRITERS = """
SELECT clock_timestamp() AS now,
       (SELECT min(xact_start) FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()) AS oldest_writer
"""
QUEUE = (
    """
WITH changed AS (
    SELECT e.case_id, max(e.seq) AS last_seq
      FROM events e JOIN cases c ON c.id = e.case_id
     WHERE e.seq > $1 AND e.seq <= $2
       AND (c.department = $3
            OR (e.type = 'case.rejected' AND e.data->>'department' = $3)
            OR (e.type = 'case.dispatched' AND e.data->>'previous_department' = $3))
     GROUP BY e.case_id
     ORDER BY last_seq
     LIMIT $4
)
"""
    + CASE_READ.format(extra=", ch.last_seq", source="changed ch JOIN cases c ON c.id = ch.case_id")
    + " ORDER BY ch.last_seq"
)
HORIZON_SCAN = 10_000  # events examined per call; a reader further behind catches up over several calls


@dataclass(frozen=True, slots=True)
class Horizon:
    seq: int
    gap_pending: bool  # stopped at a gap that may still fill: look again soon


async def horizon(conn: Conn, after: int, *, settle: dt.timedelta) -> Horizon:
    rows = await conn.fetch(LOG_AFTER, after, HORIZON_SCAN)
    writers = await conn.fetchrow(WRITERS)
    if writers is None:  # a SELECT without FROM always yields its row
        raise RuntimeError("no answer from the writers query")
    seq, pending = safe_horizon(
        after,
        (LogEntry(r["seq"], r["written_at"]) for r in rows),
        now=writers["now"],
        oldest_open_writer=writers["oldest_writer"],
        settle=settle,
    )
    return Horizon(seq, pending)


async def department_queue(conn: Conn, *, department: str, after: int, upto: int, limit: int) -> list[asyncpg.Record]:
    """The department's cases with a change in (after, upto], oldest last change first, as they are now."""
    return await conn.fetch(QUEUE, after, upto, department, limit)


TOUCHED = """
SELECT e.seq, c.department, e.data->>'department' AS event_department,
       e.data->>'previous_department' AS previous_department
  FROM events e JOIN cases c ON c.id = e.case_id
 WHERE e.seq > $1 AND e.seq <= $2
"""
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM events"


async def touched_departments(conn: Conn, *, after: int, upto: int) -> set[str]:
    """Departments whose queue has news in (after, upto]."""
    rows = await conn.fetch(TOUCHED, after, upto)
    return {d for r in rows for d in (r["department"], r["event_department"], r["previous_department"]) if d}


async def last_seq(conn: Conn) -> int:
    value: int = await conn.fetchval(LAST_SEQ)
    return value

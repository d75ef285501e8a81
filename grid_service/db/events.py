"""Reading the event log: its safe horizon, and the department queue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from grid_service.db.cases import CASE_READ
from grid_service.db.pool import Conn
from grid_service.db.rows import QueuedCase
from grid_service.domain.horizon import LogEntry, safe_horizon

LOG_AFTER = """
SELECT seq, written_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2
"""
# The same, with the departments whose queue each event is news for (the case's, the one that
# rejected it, the one it was taken from by a re-dispatch), and for a task's event the task lists
# it is news for (db/tasks.audience: the one it is in, the one it left).
LOG_AFTER_WITH_DEPARTMENTS = """
SELECT e.seq, e.written_at, c.department, e.data->>'department' AS event_department,
       e.data->>'previous_department' AS previous_department,
       e.data->>'audience' AS audience, e.data->>'previous_audience' AS previous_audience
  FROM events e LEFT JOIN cases c ON c.id = e.case_id
 WHERE e.seq > $1 ORDER BY e.seq LIMIT $2
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
HORIZON_SCAN = 2_000  # events examined per call; further behind, a reader jumps to a safe start
# A position with no gap below it that may still fill, found without knowing an earlier one: the
# newest event written before every transaction still writing began, and longer ago than the
# settle time (domain/horizon.py). Conservative: the safe horizon may lie further on.
SAFE_START = """
WITH writers AS (
    SELECT least(min(xact_start), clock_timestamp() - $1::interval) AS since
      FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
)
SELECT coalesce((SELECT e.seq FROM events e, writers w
                  WHERE e.written_at < coalesce(w.since, clock_timestamp() - $1::interval)
                  ORDER BY e.seq DESC LIMIT 1), 0)
"""


@dataclass(frozen=True, slots=True)
class Horizon:
    seq: int
    gap_pending: bool  # stopped at a gap that may still fill: look again soon


async def horizon(conn: Conn, after: int, *, settle: dt.timedelta) -> Horizon:
    """The safe horizon after ``after``: every event in (after, seq] is committed or never will be."""
    found, _ = await _follow(conn, LOG_AFTER, after, settle=settle, may_jump=True)
    return found


async def news(conn: Conn, after: int, *, settle: dt.timedelta) -> tuple[Horizon, set[str]]:
    """The safe horizon after ``after`` (at most a page on), and the departments' queues and task
    lists (db/tasks.audience) with news up to it. Every event is looked at, never jumped over:
    ``gap_pending`` is also set when a full page was read, so the caller reads the next one soon."""
    found, rows = await _follow(conn, LOG_AFTER_WITH_DEPARTMENTS, after, settle=settle, may_jump=False)
    if len(rows) == HORIZON_SCAN and not found.gap_pending:
        found = Horizon(found.seq, True)
    departments = {
        d
        for r in rows
        if r["seq"] <= found.seq
        for d in (
            r["department"],
            r["event_department"],
            r["previous_department"],
            r["audience"],
            r["previous_audience"],
        )
        if d
    }
    return found, departments


async def _follow(
    conn: Conn, query: str, after: int, *, settle: dt.timedelta, may_jump: bool
) -> tuple[Horizon, list[asyncpg.Record]]:
    # The writers are looked at before the log is read: a transaction holding a gap that commits
    # between the two reads is then visible in the second, and one still open was open in the first.
    writers = await conn.fetchrow(WRITERS)
    if writers is None:  # a SELECT without FROM always yields its row
        raise RuntimeError("no answer from the writers query")
    rows = await conn.fetch(query, after, HORIZON_SCAN)
    if may_jump and len(rows) == HORIZON_SCAN:
        # Far behind the end: jump to a conservative safe start rather than walking the log
        # a page per call (a quiet department's old cursor would otherwise cost a scan per wake-up).
        start = await safe_start(conn, settle=settle)
        if start > after:
            after = start
            rows = await conn.fetch(query, after, HORIZON_SCAN)
    seq, pending = safe_horizon(
        after,
        (LogEntry(r["seq"], r["written_at"]) for r in rows),
        now=writers["now"],
        oldest_open_writer=writers["oldest_writer"],
        settle=settle,
    )
    return Horizon(seq, pending), rows


async def department_queue(conn: Conn, *, department: str, after: int, upto: int, limit: int) -> list[QueuedCase]:
    """The department's cases with a change in (after, upto], oldest last change first, as they are now."""
    return [QueuedCase.of(r) for r in await conn.fetch(QUEUE, after, upto, department, limit)]


LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM events"


async def safe_start(conn: Conn, *, settle: dt.timedelta) -> int:
    value: int = await conn.fetchval(SAFE_START, settle)
    return value


async def last_seq(conn: Conn) -> int:
    value: int = await conn.fetchval(LAST_SEQ)
    return value

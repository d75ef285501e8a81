"""GET /api/v1/queue: a department's changed cases after a cursor, long-polling when there are none;
and the long-poll over the event log it shares with the task lists (handlers/tasks.py)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

from aiohttp import web

from grid_service import keys
from grid_service.db import events as db_events
from grid_service.db.pool import Conn
from grid_service.db.rows import QueuedCase
from grid_service.errors import ValidationFailed, field_error, invalid_cursor
from grid_service.handlers.common import connection, json_response, principal, validate_query
from grid_service.presenters import present_case
from grid_service.schemas import QueueQuery

MAX_SEQ = 2**63 - 1  # event sequences are bigint


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError as exc:
        raise invalid_cursor() from exc
    if not 0 <= value <= MAX_SEQ:
        raise invalid_cursor()
    return value


async def department_queue(request: web.Request) -> web.Response:
    query = validate_query(QueueQuery, request)
    caller = principal(request)
    department = caller.scope(query.department)
    if department is None:
        raise ValidationFailed("name the department", details=[field_error(["department"], "required for admin")])

    async def read(conn: Conn, after: int, upto: int) -> tuple[list[QueuedCase], int]:
        rows = await db_events.department_queue(conn, department=department, after=after, upto=upto, limit=query.limit)
        return rows, (rows[-1].last_seq if len(rows) == query.limit else upto)

    rows, position = await follow_log(request, (department,), decode_cursor(query.after), query.wait, read)
    snapshot = request.app[keys.CONFIG].current
    now = request.app[keys.CLOCK]()
    cases = [{**present_case(r.case, snapshot, now), "seq": r.last_seq} for r in rows]
    return json_response({"cases": cases, "cursor": encode_cursor(position)})


Row = TypeVar("Row")
# Reads the rows wanted in (after, upto] of the log, and where its page of the log ended.
Reader: TypeAlias = Callable[[Conn, int, int], Awaitable[tuple[list[Row], int]]]


async def follow_log(
    request: web.Request, audiences: tuple[str, ...], cursor: int, wait: float, read: Reader[Row]
) -> tuple[list[Row], int]:
    """A long-poll over the event log for some audiences (a department's queue, task lists): what
    ``read`` finds after ``cursor`` up to the safe horizon, and the position to continue from
    (``read`` answers the rows wanted and where its page of the log ended).

    With nothing there, it waits until the worker's tracker sees news for the audience, or ``wait``
    seconds; the answer is then empty, with a position past everything looked at. Polling with the
    positions returned never skips and never repeats (the horizon is safe, domain/horizon.py).
    """
    if wait <= 0:
        return await _follow(request, audiences, cursor, wait, read)
    settings = request.app[keys.SETTINGS]
    with request.app[keys.LIMITS].hold("long_polls", principal(request).token_id, settings.long_polls_per_token):
        return await _follow(request, audiences, cursor, wait, read)


async def _follow(
    request: web.Request, audiences: tuple[str, ...], cursor: int, wait: float, read: Reader[Row]
) -> tuple[list[Row], int]:
    settings = request.app[keys.SETTINGS]
    settle = dt.timedelta(seconds=settings.event_gap_settle_s)
    tracker = request.app[keys.TRACKER]
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + wait
    scanned = cursor  # events up to here hold nothing for this audience
    while True:
        tickets = [tracker.ticket(a) for a in audiences]  # before looking: news during the look wakes us
        # While the worker's tracker follows the log (some long-poll waits), it says whether these
        # audiences have news at all, so idle long-polls do not query, on arrival or per commit.
        if all(tracker.news_for(a, scanned) is False for a in audiences):
            upto = tracker.horizon
        else:
            async with connection(request) as conn:
                # Where the tracker has followed the log since our position, its horizon is safe.
                known = tracker.known_upto(scanned)
                upto = known if known is not None else (await db_events.horizon(conn, scanned, settle=settle)).seq
                if upto > scanned:
                    rows, position = await read(conn, scanned, upto)
                    if rows:
                        return rows, position
                    if position < upto:  # a full page of nothing wanted here: read on from its end
                        scanned = position
                        continue
        scanned = max(scanned, upto)
        remaining = give_up_at - loop.time()
        if remaining <= 0 or tracker.closing or _client_gone(request):
            # Nothing for this audience up to where we looked: the position moves past it, so the
            # next call starts there instead of reading the same quiet range again.
            return [], scanned
        await tracker.wait(tickets, min(remaining, CLIENT_CHECK_S))


CLIENT_CHECK_S = 1.0  # a parked long-poll looks this often whether its client is still there


def _client_gone(request: web.Request) -> bool:
    """The client closed the connection: stop the long-poll's work (nobody reads its answer)."""
    transport = request.transport
    return transport is None or transport.is_closing()

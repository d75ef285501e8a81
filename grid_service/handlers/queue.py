"""GET /api/v1/queue: a department's changed cases after a cursor, long-polling when there are none."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from typing import Any

from aiohttp import web

from grid_service import keys
from grid_service.db import events as db_events
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
    cursor = decode_cursor(query.after)
    settings = request.app[keys.SETTINGS]
    settle = dt.timedelta(seconds=settings.event_gap_settle_s)
    tracker = request.app[keys.TRACKER]
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + query.wait
    scanned = cursor  # events up to here hold nothing for this department
    while True:
        ticket = tracker.ticket(department)  # taken before looking: news during the look still wakes us
        # While the worker's tracker follows the log (some long-poll waits), it says whether this
        # department has news at all, so idle long-polls do not query, on arrival or per commit.
        news = tracker.news_for(department, scanned)
        rows: list[Any] = []
        if news is False:
            upto = tracker.horizon
        else:
            async with connection(request) as conn:
                # Where the tracker has followed the log since our position, its horizon is safe.
                known = tracker.known_upto(scanned)
                upto = known if known is not None else (await db_events.horizon(conn, scanned, settle=settle)).seq
                if upto > scanned:
                    rows = await db_events.department_queue(
                        conn, department=department, after=scanned, upto=upto, limit=query.limit
                    )
        if rows:
            last = rows[-1].last_seq if len(rows) == query.limit else upto
            snapshot = request.app[keys.CONFIG].current
            now = request.app[keys.CLOCK]()
            cases = [{**present_case(r.case, snapshot, now), "seq": r.last_seq} for r in rows]
            return json_response({"cases": cases, "cursor": encode_cursor(last)})
        scanned = max(scanned, upto)
        remaining = give_up_at - loop.time()
        if remaining <= 0 or tracker.closing or _client_gone(request):
            # Nothing for this department up to where we looked: the cursor moves past it, so the
            # next call starts there instead of reading the same quiet range again.
            return json_response({"cases": [], "cursor": encode_cursor(scanned)})
        await tracker.wait(ticket, min(remaining, CLIENT_CHECK_S))


CLIENT_CHECK_S = 1.0  # a parked long-poll looks this often whether its client is still there


def _client_gone(request: web.Request) -> bool:
    """The client closed the connection: stop the long-poll's work (nobody reads its answer)."""
    transport = request.transport
    return transport is None or transport.is_closing()

"""GET /api/v1/feed: every case event as a Server-Sent Event, resumable by Last-Event-ID."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from grid_service import keys
from grid_service.db import events as db_events
from grid_service.db import feed as db_feed
from grid_service.errors import ValidationFailed, field_error
from grid_service.handlers.common import connection, principal, validate_query
from grid_service.live.feed import PAGE, Subscriber, event_frame
from grid_service.schemas import FeedQuery, parse_bbox

LAST_EVENT_ID = "Last-Event-ID"


def _resume_from(request: web.Request, query: FeedQuery) -> int | None:
    """Where the client left off: Last-Event-ID (sent by a reconnecting EventSource) over ?after=."""
    header = request.headers.get(LAST_EVENT_ID, "").strip()
    if not header:
        return query.after
    if not header.isdigit():
        raise ValidationFailed("invalid Last-Event-ID", details=[field_error([LAST_EVENT_ID], "not an event id")])
    return int(header)


async def feed(request: web.Request) -> web.StreamResponse:
    query = validate_query(FeedQuery, request)
    caller = principal(request)
    area = db_feed.Area(
        category=query.category,
        department=caller.scope(query.department),
        bbox=parse_bbox(query.bbox) if query.bbox else None,
    )
    resume = _resume_from(request, query)
    app = request.app
    settings = app[keys.SETTINGS]
    if resume is not None:
        async with connection(request) as conn:
            if resume > await db_events.last_seq(conn):
                raise ValidationFailed(
                    "unknown event id: reconnect without one",
                    details=[field_error(["after"], "later than any event", "unknown_event_id")],
                )

    def cut_off() -> None:  # fell too far behind: close at once; the client resumes by Last-Event-ID
        if request.transport is not None:
            request.transport.abort()

    def backlog() -> int:
        transport = request.transport
        return transport.get_write_buffer_size() if transport is not None else 1

    response = EventSourceResponse(ping_interval=settings.feed_heartbeat_s, send_timeout=settings.feed_send_timeout_s)
    subscriber = Subscriber(
        area,
        buffer_events=settings.feed_buffer_events,
        on_overflow=cut_off,
        write=response.write,
        backlog=backlog,
    )
    with app[keys.LIMITS].hold("feeds", caller.token_id, settings.feeds_per_token):
        return await _stream(request, response, subscriber, area, resume)


async def _stream(
    request: web.Request, response: EventSourceResponse, subscriber: Subscriber, area: db_feed.Area, resume: int | None
) -> web.StreamResponse:
    app = request.app
    hub = app[keys.FEED]
    joined_at = await hub.subscribe(subscriber)
    try:
        await response.prepare(request)

        async def replay(sent: int) -> int:
            """What the client missed before it joined, from the database, page by page."""
            while sent < joined_at:
                async with connection(request) as conn:
                    rows = await db_feed.events(conn, after=sent, upto=joined_at, limit=PAGE, area=area)
                snapshot, now = app[keys.CONFIG].current, app[keys.CLOCK]()
                if rows:
                    await response.write(b"".join(event_frame(row, snapshot, now) for row in rows))
                sent = rows[-1].seq if len(rows) == PAGE else joined_at
            return sent

        sender = asyncio.create_task(subscriber.send(joined_at if resume is None else resume, replay))
        gone = asyncio.create_task(response.wait())  # ends when a heartbeat cannot be written
        try:
            await asyncio.wait({sender, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, gone):
                task.cancel()
            await asyncio.gather(sender, gone, return_exceptions=True)
    finally:
        hub.unsubscribe(subscriber)
    return response

"""The command center's map: the case snapshot as GeoJSON, and the page itself."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import xstatic.pkg.leaflet
from aiohttp import web

from grid_service import keys
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import feed as db_feed
from grid_service.db import map as db_map
from grid_service.db.failures import DATABASE_DOWN
from grid_service.domain.lights import FINISHED, RUNNING
from grid_service.errors import ValidationFailed, field_error
from grid_service.handlers.common import principal, read_connection, validate_query
from grid_service.presenters import map_feature
from grid_service.schemas import EventType, MapCasesQuery, parse_bbox

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).resolve().parents[1] / "static"
LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)


GEOJSON = "application/geo+json"
STATS_ROUTE = "stats"  # the route of GET /api/v1/stats, whose roles the page's figures follow


def geojson_response(body: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type=GEOJSON)


FINISHED_SINCE_REACH = dt.timedelta(days=2)  # the wall asks for its city's day: a longer reach is a mistake


class Position(NamedTuple):
    """Where the next page of a map answer starts: among the open cases, after the case ``open_after``
    (None: at the first); or, once those are all read (``finished``), among the finished ones after
    ``finished_after`` (when it finished and its id; None: at the first)."""

    finished: bool = False
    open_after: uuid.UUID | None = None
    finished_after: tuple[dt.datetime, uuid.UUID] | None = None


def finished_since_of(query: MapCasesQuery, now: dt.datetime) -> dt.datetime | None:
    """The instant after which the finished cases join the open ones (None: none join). With
    status=all they are all there already."""
    since = query.finished_since
    if since is not None and since < now - FINISHED_SINCE_REACH:
        message = "finished_since reaches at most 2 days back"
        raise ValidationFailed(message, details=[field_error(["finished_since"], message, "too_far_back")])
    return None if query.status == "all" else since


def feature(row: db_map.MapRow | db_map.FinishedRow, snapshot: ConfigSnapshot, now: dt.datetime) -> dict[str, Any]:
    """The map's feature of the case, with when it finished (null while open)."""
    shown = map_feature(row.case, snapshot, now)
    finished_at = row.finished_at
    shown["properties"]["finished_at"] = finished_at.astimezone(snapshot.calendar.timezone) if finished_at else None
    return shown


async def map_cases(request: web.Request) -> web.StreamResponse:
    """The cases as one FeatureCollection, written out page by page: whatever the number of cases,
    an answer holds one page in memory and one database connection for one page at a time. An
    answer that fits in one page is sent whole; a longer one is streamed (chunked), and if the
    database goes away half-way the connection is cut, so a client never takes a part for the whole.

    With finished_since, the open cases (in id order) are followed by the cases finished since then
    (in the order they finished), a page filling up across the two. A case that finishes while the
    answer is read may come twice, open and then finished: the later is the newer."""
    query = validate_query(MapCasesQuery, request)
    caller = principal(request)
    settings = request.app[keys.SETTINGS]
    department = caller.scope()
    bbox = parse_bbox(query.bbox) if query.bbox else None
    since = finished_since_of(query, request.app[keys.CLOCK]())
    limit = settings.map_page
    heavy = request.app[keys.HEAVY_READS]
    # Every read of the answer on one server: pages read on a standby behind the primary that gave
    # seq would miss events the client will not be sent again.
    replica = request.app.get(keys.READ_REPLICA)
    server = replica.pool() if replica is not None else None
    async with heavy.slot(caller.token_id):

        async def page(start: Position) -> tuple[bytes, Position | None]:
            """The features from ``start`` on as JSON text, and where the next page starts (None: no more)."""
            async with heavy.turn():
                rows: list[db_map.MapRow | db_map.FinishedRow] = []
                following: Position | None = None
                async with read_connection(request, server) as conn:
                    if not start.finished:
                        rows += await db_map.map_cases(
                            conn,
                            include_closed=query.status == "all",
                            bbox=bbox,
                            department=department,
                            after=start.open_after,
                            limit=limit,
                        )
                        if len(rows) == limit:
                            following = Position(open_after=rows[-1].case.id)
                        elif since is not None:
                            start = Position(finished=True)
                    if start.finished and since is not None:
                        room = limit - len(rows)
                        finished = await db_map.finished_map_cases(
                            conn,
                            since=since,
                            bbox=bbox,
                            department=department,
                            after=start.finished_after,
                            limit=room,
                        )
                        rows += finished
                        if len(finished) == room:
                            last = finished[-1]
                            following = Position(finished=True, finished_after=(last.finished_at, last.case.id))
                snapshot, now = request.app[keys.CONFIG].current, request.app[keys.CLOCK]()
                text = b",".join(orjson.dumps(feature(row, snapshot, now)) for row in rows)
            return text, following

        async with read_connection(request, server) as conn:
            # Found before the cases are read: every event up to seq is committed, so reflected in them,
            # and a client that follows the feed after seq misses nothing (later ones arrive twice, harmlessly).
            seq = await db_feed.live_position(conn, settle=dt.timedelta(seconds=settings.event_gap_settle_s))
        head = b'{"type":"FeatureCollection","seq":%d,"features":[' % seq
        features, following = await page(Position())
        if following is None:
            return web.Response(body=head + features + b"]}", content_type=GEOJSON)
        response = web.StreamResponse(headers={"Content-Type": GEOJSON})
        await response.prepare(request)
        try:
            await response.write(head + features)  # a whole page: the first is never empty when more follow
            while following is not None:
                try:
                    features, following = await page(following)
                except DATABASE_DOWN as exc:
                    log.warning("map answer cut off half-way: the database is unavailable (%r)", exc)
                    if request.transport is not None:
                        request.transport.abort()  # an unfinished collection must not look finished
                    return response
                if features:
                    await response.write(b"," + features)
            await response.write(b"]}")
        except ConnectionError:  # the client went away: nobody to answer
            return response
        await response.write_eof()
        return response


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE_DIR / "map.html", headers={"Cache-Control": "no-cache"})


def grid_bounds(snapshot: ConfigSnapshot) -> list[float] | None:
    """Where the grid lies: [min lon, min lat, max lon, max lat] of its cells (None: no grid)."""
    boxes = [cell.geometry.bounds for cell in snapshot.grid.cells]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


async def page_settings(request: web.Request) -> web.Response:
    """What the page needs to know that is not data, from the settings and the configuration (so the
    page copies nothing of the server by hand): the tile layer, the city's time zone, where the grid
    lies, the vocabularies it listens for and colours by, and which roles may read the day's figures
    (so a signed-in account the statistics are not for is not sent to be refused)."""
    snapshot = request.app[keys.CONFIG].current
    bounds = grid_bounds(snapshot)
    stats_roles = request.app[keys.ROUTE_TABLE].roles.get(STATS_ROUTE) or frozenset()
    return web.json_response(
        {
            "tile_url": request.app[keys.SETTINGS].tile_url,
            "timezone": snapshot.calendar.timezone.key,
            "bounds": bounds,
            "event_types": [t.value for t in EventType],
            "running": sorted(s.value for s in RUNNING),
            "finished": sorted(s.value for s in FINISHED),
            "labels": snapshot.labels.model_dump(),
            "stats_roles": sorted(role.value for role in stats_roles),
        }
    )

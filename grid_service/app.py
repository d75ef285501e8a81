"""create_app(settings): wiring only — no I/O until the app starts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from aiohttp import web

from grid_service import contexts, keys, middlewares
from grid_service.handlers.media import MAX_BYTES as MEDIA_MAX_BYTES
from grid_service.heavy_reads import HeavyReads
from grid_service.live.loops import Loops
from grid_service.routes import setup_routes
from grid_service.settings import Settings


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(settings: Settings, *, clock: Callable[[], dt.datetime] = utc_now) -> web.Application:
    app = web.Application(
        middlewares=[middlewares.request_context, middlewares.error_envelope, middlewares.authenticate],
        client_max_size=max(settings.max_json_bytes, MEDIA_MAX_BYTES) + 1024,
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.LOOPS] = Loops()
    app[keys.PHOTO_DECODING] = asyncio.Semaphore(1)
    app[keys.PAGE_POLICY] = middlewares.page_policy(settings.tile_url)
    app.on_response_prepare.append(middlewares.security_headers)
    app[keys.HEAVY_READS] = HeavyReads(
        per_caller=settings.heavy_reads_per_caller, per_worker=settings.heavy_reads_per_worker
    )
    app.cleanup_ctx.append(contexts.database_pool)
    app.cleanup_ctx.append(contexts.intake_writer)
    app.cleanup_ctx.append(contexts.event_listener)
    app.cleanup_ctx.append(contexts.configuration)
    app.cleanup_ctx.append(contexts.deadline_watch)
    app.on_shutdown.append(_close_feeds)
    setup_routes(app)
    return app


async def _close_feeds(app: web.Application) -> None:
    """Live feeds and parked long-polls would hold a shutdown up: end them at once (their clients
    reconnect, to another worker), so that it drains every other request."""
    if keys.FEED in app:
        app[keys.FEED].close_all()
    if keys.TRACKER in app:
        app[keys.TRACKER].close()

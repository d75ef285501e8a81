"""create_app(settings): wiring only — no I/O until the app starts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from grid_service import contexts, keys, middlewares
from grid_service.handlers.media import MAX_BYTES as MEDIA_MAX_BYTES
from grid_service.heavy_reads import HeavyReads
from grid_service.limits import Limits, Rate, SharedCounts
from grid_service.live.loops import Loops
from grid_service.live.sampler import MetricsSampler
from grid_service.metrics import AddressList
from grid_service.routes import setup_routes
from grid_service.settings import Settings


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    shared: SharedCounts | None = None,
    worker_row: int = 0,
) -> web.Application:
    """``shared``: the limits' counts this host's workers share (serve makes them), with this
    worker's ``worker_row`` of them; a lone app makes its own."""
    app = web.Application(
        middlewares=[
            middlewares.request_context,
            middlewares.error_envelope,
            middlewares.limit_addresses,
            middlewares.authenticate,
        ],
        client_max_size=max(settings.max_json_bytes, MEDIA_MAX_BYTES) + 1024,
    )
    app[keys.SETTINGS] = settings
    app[keys.LIMITS] = Limits(
        shared or SharedCounts(),
        worker_row,
        token=Rate(settings.token_rate_per_s, settings.token_burst),
        address=Rate(settings.address_rate_per_s, settings.address_burst),
    )
    app[keys.METRICS_ALLOW] = AddressList(settings.metrics_allow)
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
    if settings.metrics:
        app.cleanup_ctx.append(_metrics_sampler)
    app.on_shutdown.append(_close_feeds)
    setup_routes(app)
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """How the HTTP server treats connections (for web.run_app and the tests' servers alike). A
    connection must deliver a request's line and headers within ``header_timeout_s`` of opening,
    or of the previous answer (aiohttp's keep-alive timer runs from the connection's start, so a
    client that connects and sends nothing, or only part of its headers, is closed)."""
    return {"keepalive_timeout": settings.header_timeout_s}


async def _close_feeds(app: web.Application) -> None:
    """Live feeds and parked long-polls would hold a shutdown up: end them at once (their clients
    reconnect, to another worker), so that it drains every other request."""
    if keys.FEED in app:
        app[keys.FEED].close_all()
    if keys.TRACKER in app:
        app[keys.TRACKER].close()


async def _metrics_sampler(app: web.Application) -> AsyncIterator[None]:
    """The worker's gauges for /metrics, sampled every second (live/sampler.py), after the loops it watches."""
    sampler = MetricsSampler(
        app[keys.POOL],
        hub=app[keys.FEED],
        tracker=app[keys.TRACKER],
        loops=app[keys.LOOPS],
        replication_lag=lambda: app[keys.READ_REPLICA].lag_s if keys.READ_REPLICA in app else None,
        timeout=app[keys.SETTINGS].db_timeout_s,
    )
    app[keys.SAMPLER] = sampler
    app[keys.LOOPS].start("metrics", sampler.run)
    yield
    await app[keys.LOOPS].stop("metrics")

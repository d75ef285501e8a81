"""Long-lived resources, each one cleanup_ctx generator, in dependency order."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
from aiohttp import web

from grid_service import keys, metrics
from grid_service.auth import TokenCache
from grid_service.configuration.follow import ensure_configuration, follow_configuration
from grid_service.configuration.holder import ConfigHolder
from grid_service.db import config_store
from grid_service.db.embedded import start_embedded
from grid_service.db.migrate import migrate
from grid_service.db.pool import create_pool
from grid_service.db.replicas import ReadReplica, host_order
from grid_service.flows.case_batch import CaseBatcher
from grid_service.flows.casework import decide_guarded
from grid_service.flows.group_commit import GroupCommitter
from grid_service.flows.stored_lookups import StoredLookups
from grid_service.live.deadline_watch import DeadlineWatch
from grid_service.live.feed import FeedHub
from grid_service.live.notifier import Notifier, listen
from grid_service.live.tracker import EventTracker
from grid_service.sessions import SessionCache
from grid_service.settings import Settings, mask_url

log = logging.getLogger(__name__)


def database_url(settings: Settings, *, create: bool = False) -> str:
    """The configured URL, or the embedded server's (started on demand; created only if ``create``)."""
    if settings.database_url:
        return writable(settings.database_url)
    return start_embedded(settings.data_dir, create=create)


def writable(url: str) -> str:
    """``url``, asking for the read-write server when it names several hosts and does not say which
    kind it wants: the client library's default takes the first that answers, which may be a
    standby (docs/replication.md)."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    if "," not in hosts or "target_session_attrs" in parse_qs(parts.query):
        return url
    joined = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{joined}target_session_attrs=read-write"))


async def database_pool(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    url = await asyncio.to_thread(functools.partial(database_url, settings, create=True))  # serve creates it
    log.info("database %s", mask_url(url))
    # Host by host (db/replicas.py HostOrder): a dead first host must not hold every new connection.
    connector = host_order(url).connect
    pool = await create_pool(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size, connect=connector)
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")  # fail fast before listening
        await migrate(conn)
    app[keys.DATABASE_URL] = url
    app[keys.POOL] = pool
    app[keys.NOTIFIER] = Notifier()  # writers tell it after committing events; see event_listener
    app[keys.TOKENS] = TokenCache(settings.token_cache_s)
    app[keys.SESSIONS] = SessionCache(settings.token_cache_s)
    replica = await _read_replica(app, pool, url)
    yield
    if replica is not None:
        await app[keys.LOOPS].stop("read_replica")
        await replica.standby.close()
    await pool.close()


async def _read_replica(app: web.Application, pool: asyncpg.Pool, url: str) -> ReadReplica | None:
    """The standby's pool and its lag monitor, when a read URL is set. Nothing is connected yet: a
    standby that is down delays no start and makes no worker unready (its reads go to the primary)."""
    settings = app[keys.SETTINGS]
    if not settings.read_database_url:
        return None
    shown = mask_url(settings.read_database_url)
    log.info("reads that may lag: %s (at most %.1fs behind)", shown, settings.read_max_lag_s)
    standby = await create_pool(
        settings.read_database_url,
        min_size=0,
        max_size=settings.pool_max_size,
        connect=host_order(settings.read_database_url).connect,
    )
    replica = ReadReplica(
        primary=pool,
        standby=standby,
        primary_url=url,
        standby_url=settings.read_database_url,
        max_lag_s=settings.read_max_lag_s,
    )
    app[keys.READ_REPLICA] = replica
    app[keys.LOOPS].start("read_replica", replica.run)
    return replica


async def intake_writer(app: web.Application) -> AsyncIterator[None]:
    """The worker's group committer and casework batcher; on shutdown every accepted report and action
    is written before the pool closes."""
    settings = app[keys.SETTINGS]
    committer = GroupCommitter(
        app[keys.POOL],
        timeout=settings.db_timeout_s,
        max_items=settings.intake_chunk,
        max_in_flight=settings.intake_in_flight,
        on_commit=app[keys.NOTIFIER].published,
        on_batch=metrics.observe_batch if settings.metrics else None,
    )
    app[keys.INTAKE] = committer
    casework = CaseBatcher(
        app[keys.POOL],
        decide=decide_guarded,
        timeout=settings.db_timeout_s,
        max_in_flight=settings.intake_in_flight,
        on_commit=app[keys.NOTIFIER].published,
    )
    app[keys.CASEWORK] = casework
    app[keys.STORED_LOOKUPS] = StoredLookups(app[keys.POOL], timeout=settings.db_timeout_s)
    yield
    await committer.drain()
    await casework.drain()


async def configuration(app: web.Application) -> AsyncIterator[None]:
    """Load the configuration snapshot (installing the default configuration on a first start) and keep it fresh."""
    settings = app[keys.SETTINGS]
    pool = app[keys.POOL]
    async with pool.acquire() as conn:
        await ensure_configuration(conn, settings.config)
        snapshot = await config_store.read_snapshot(conn, snap_m=settings.snap_m)
    holder = ConfigHolder(snapshot)
    app[keys.CONFIG] = holder
    log.info(
        "configuration generation %s: %d cells, %d categories",
        snapshot.generation if snapshot else None,
        len(snapshot.grid) if snapshot else 0,
        len(snapshot.categories) if snapshot else 0,
    )
    loops = app[keys.LOOPS]
    follow = functools.partial(
        follow_configuration,
        pool,
        holder,
        every_s=settings.config_poll_s,
        snap_m=settings.snap_m,
        timeout=settings.db_timeout_s,
    )
    loops.start("configuration", follow)
    yield
    await loops.stop("configuration")


async def event_listener(app: web.Application) -> AsyncIterator[None]:
    """The worker's LISTEN (and NOTIFY) connection, the tracker long-polls wait on, and the live feed."""
    settings = app[keys.SETTINGS]
    notifier = app[keys.NOTIFIER]
    tracker = EventTracker(
        app[keys.POOL],
        notifier,
        settle=dt.timedelta(seconds=settings.event_gap_settle_s),
        timeout=settings.db_timeout_s,
    )
    app[keys.TRACKER] = tracker
    hub = FeedHub(
        app[keys.POOL],
        notifier,
        config=lambda: app[keys.CONFIG].current,
        clock=app[keys.CLOCK],
        settle=dt.timedelta(seconds=settings.event_gap_settle_s),
        timeout=settings.db_timeout_s,
        interval=settings.feed_interval_s,
    )
    app[keys.FEED] = hub
    loops = app[keys.LOOPS]
    loops.start("listener", functools.partial(listen, app[keys.DATABASE_URL], notifier))
    loops.start("queue_tracker", tracker.run)
    loops.start("live_feed", hub.run)
    yield
    await loops.stop("listener", "queue_tracker", "live_feed")


async def deadline_watch(app: web.Application) -> AsyncIterator[None]:
    """The worker's deadline watch (warnings, overdue cases, escalations), after the configuration."""
    settings = app[keys.SETTINGS]
    watch = DeadlineWatch(
        app[keys.POOL],
        config=lambda: app[keys.CONFIG].current,
        clock=app[keys.CLOCK],
        on_change=app[keys.NOTIFIER].published,
        interval=settings.deadline_sweep_s,
        timeout=settings.db_timeout_s,
    )
    app[keys.WATCH] = watch
    app[keys.LOOPS].start("deadline_watch", watch.run)
    yield
    await app[keys.LOOPS].stop("deadline_watch")

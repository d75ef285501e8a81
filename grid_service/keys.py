"""Every typed application key, in one place."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from grid_service.auth import Principal, TokenCache
from grid_service.configuration.holder import ConfigHolder
from grid_service.db.replicas import ReadReplica
from grid_service.errors import TooManyRequests
from grid_service.flows.case_batch import CaseBatcher
from grid_service.flows.group_commit import GroupCommitter
from grid_service.flows.stored_lookups import StoredLookups
from grid_service.heavy_reads import HeavyReads
from grid_service.limits import Limits
from grid_service.live.deadline_watch import DeadlineWatch
from grid_service.live.feed import FeedHub
from grid_service.live.loops import Loops
from grid_service.live.notifier import Notifier
from grid_service.live.sampler import MetricsSampler
from grid_service.live.tracker import EventTracker
from grid_service.metrics import AddressList
from grid_service.sessions import SessionCache, SignedIn
from grid_service.settings import Settings

if TYPE_CHECKING:
    from grid_service.routes import RouteTable  # the route table imports the handlers, which import these keys

SETTINGS = web.AppKey("settings", Settings)
DATABASE_URL = web.AppKey("database_url", str)
POOL = web.AppKey("pool", asyncpg.Pool)
# Set only when a read URL is configured: the standby's pool and its lag (ReadReplica.lag_s).
READ_REPLICA = web.AppKey("read_replica", ReadReplica)
NOTIFIER = web.AppKey("notifier", Notifier)
TRACKER = web.AppKey("tracker", EventTracker)
FEED = web.AppKey("feed", FeedHub)
WATCH = web.AppKey("watch", DeadlineWatch)
HEAVY_READS = web.AppKey("heavy_reads", HeavyReads)
PAGE_POLICY = web.AppKey("page_policy", str)  # the pages' Content-Security-Policy (it names the tile server)
# One photo decoded at a time per worker: decoding is CPU-bound and its memory grows with the pixel budget.
PHOTO_DECODING = web.AppKey("photo_decoding", asyncio.Semaphore)
LOOPS = web.AppKey("loops", Loops)  # the worker's long-lived loops, kept running and watched
CONFIG = web.AppKey("config", ConfigHolder)
TOKENS = web.AppKey("tokens", TokenCache)
SESSIONS = web.AppKey("sessions", SessionCache)
INTAKE = web.AppKey("intake", GroupCommitter)
CASEWORK = web.AppKey("casework", CaseBatcher)
STORED_LOOKUPS = web.AppKey("stored_lookups", StoredLookups)  # was it stored before? (intake past its rate)
CLOCK: web.AppKey[Callable[[], dt.datetime]] = web.AppKey("clock")  # now(), aware; tests substitute their own
ROUTE_TABLE: web.AppKey[RouteTable] = web.AppKey("route_table")
LIMITS = web.AppKey("limits", Limits)  # per-caller limits, counted with the host's other workers
METRICS_ALLOW = web.AppKey("metrics_allow", AddressList)  # who reads /metrics without a token
SAMPLER = web.AppKey("sampler", MetricsSampler)  # set only while metrics are on

# Request-scoped.
REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)
SIGNED_IN = web.RequestKey("signed_in", SignedIn)  # set when a session cookie, not a token, authenticated it
OVER_LIMIT = web.RequestKey("over_limit", TooManyRequests)  # an intake over its rate: only retries pass

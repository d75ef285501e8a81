"""Each worker's share of /metrics: the gauges of its own state, sampled every second (and by the
worker answering a scrape, just before it answers), so that the sum over the workers is current."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from grid_service import metrics
from grid_service.db.open_figures import seconds_behind
from grid_service.live.feed import FeedHub
from grid_service.live.loops import Loops, LoopState
from grid_service.live.tracker import EventTracker

EVERY_S = 1.0


class MetricsSampler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        hub: FeedHub,
        tracker: EventTracker,
        loops: Loops,
        replication_lag: Callable[[], float | None],
        timeout: float,
    ) -> None:
        self._pool = pool
        self._hub = hub
        self._tracker = tracker
        self._loops = loops
        self._replication_lag = replication_lag
        self._timeout = timeout

    async def sample(self) -> None:
        pool = self._pool
        idle = pool.get_idle_size()
        metrics.POOL.labels("in_use").set(pool.get_size() - idle)
        metrics.POOL.labels("idle").set(idle)
        metrics.POOL.labels("max").set(pool.get_max_size())
        metrics.FEED_SUBSCRIBERS.set(self._hub.subscribers)
        metrics.LONG_POLLS.set(self._tracker.waiters)
        problems = self._loops.problems()
        for name in self._loops.names():
            metrics.LOOP_UP.labels(name).set(0 if name in problems else 1)
        lag = self._replication_lag()
        metrics.REPLICATION_LAG.set(lag if lag is not None else 0.0)
        # A reader that follows nobody's interest reads nothing and is behind nothing.
        readers = {
            "live_feed": self._hub.position if self._hub.subscribers else None,
            "queue_tracker": self._tracker.horizon if self._tracker.following else None,
        }
        if all(position is None for position in readers.values()):
            for reader in readers:
                metrics.LOG_LAG.labels(reader).set(0.0)
            return
        async with pool.acquire(timeout=self._timeout) as conn:
            for reader, position in readers.items():
                metrics.LOG_LAG.labels(reader).set(0.0 if position is None else await seconds_behind(conn, position))

    async def run(self, state: LoopState) -> None:
        while True:
            await self.sample()
            state.alive()
            await asyncio.sleep(EVERY_S)

"""The standby that takes the reads which may be a little behind, and how far behind it is.

``GRID_SERVICE_READ_DATABASE_URL`` names a hot standby. The statistics, the monthly bulletin,
map snapshots and case lists read from it through a pool of their own, so that heavy reads do not
compete with intake on the primary; everything that must see a change just made (a single case,
the queue, any write path) keeps using the primary's pool.

Each worker measures the standby once a second on two dedicated connections (never pooled ones,
so that a busy pool cannot hide the standby's state): the primary's current WAL position is
sampled with the instant it was read, and the standby's replayed position is placed among those
samples. The lag is the time since the primary was where the standby is now — zero when the
standby holds everything the primary had a moment ago, whatever the traffic, and growing by one
second per second while the standby replays nothing that the primary wrote. Both instants are this
worker's clock, so clocks of different hosts never enter it.

Reads go to the standby while its lag is at most ``read_max_lag_s``; further behind, unreachable,
not measured yet, or a server of another cluster, and they go to the primary. A standby that is
down is reported (``/readyz``, the metrics) but never makes the service unready: its reads simply
move to the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from grid_service.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from grid_service.live.loops import LoopState

log = logging.getLogger(__name__)

MEASURE_EVERY_S = 1.0
HISTORY_S = 120.0  # primary positions kept; a standby behind all of them is at least this late
CONNECT_TIMEOUT_S = 3.0
QUERY_TIMEOUT_S = 2.0

PRIMARY_POSITION = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8"
# On a server that is not in recovery (the read URL names the primary, or a standby was promoted)
# its own position stands for what it has replayed. The replay timestamp is the commit instant of
# the last transaction replayed: a floor for a standby behind every kept sample.
STANDBY_POSITION = """
SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END
        - '0/0'::pg_lsn)::int8 AS replayed,
       pg_is_in_recovery() AS in_recovery,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age_s
"""
SYSTEM_IDENTIFIER = "SELECT system_identifier FROM pg_control_system()"


# A failure to connect (not a query's failure): the next host is tried, a read is given the primary.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)

CONNECT_FAILED: tuple[type[BaseException], ...] = (*UNREACHABLE, TimeoutError)


def single_host_urls(url: str) -> list[str]:
    """One URL per host of ``url`` (``postgresql://u@h1:5432,h2:5432/db?…``), in order, each with
    the same user, database and parameters; a URL of one host is returned as it is."""
    parts = urlsplit(url)
    credentials, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return [url]
    return [urlunsplit(parts._replace(netloc=f"{credentials}{at}{host}")) for host in hosts.split(",")]


class HostOrder:
    """Connects to the hosts of a URL one at a time, each given ``per_host_s``, the host that last
    took a connection first.

    The client library gives all the hosts of a URL one timeout together, so a host that accepts
    nothing (a dead machine whose address drops packets, a hung server) would use it all up and
    the next host would never be tried. And after a failover every new connection would first wait
    on the dead primary: the host that answered last is tried first instead. With
    target_session_attrs=read-write in the URL a standby refuses the connection, and the next host
    is tried."""

    def __init__(self, url: str, *, per_host_s: float) -> None:
        self.urls = single_host_urls(url)
        self.per_host_s = per_host_s
        self._last = 0

    async def connect(self, dsn: str | None = None, **kwargs: Any) -> Any:
        """``asyncpg.connect``'s arguments, but for ``dsn`` (the pool passes the URL again) and
        ``timeout``, which is per host."""
        kwargs.pop("timeout", None)
        last_error: BaseException | None = None
        order = [*range(self._last, len(self.urls)), *range(self._last)]
        for index in order:
            try:
                conn = await asyncpg.connect(self.urls[index], timeout=self.per_host_s, **kwargs)
            except CONNECT_FAILED as exc:
                last_error = exc
                continue
            self._last = index
            return conn
        assert last_error is not None  # there is at least one URL
        raise last_error


_ORDERS: dict[str, HostOrder] = {}


def host_order(url: str) -> HostOrder:
    """The worker's one HostOrder for ``url``: what one connection learnt (which host took it)
    serves the pool's next connection, the LISTEN connection's and the lag monitor's."""
    order = _ORDERS.get(url)
    if order is None:
        order = _ORDERS[url] = HostOrder(url, per_host_s=CONNECT_TIMEOUT_S)
    return order


def lag_behind(samples: deque[tuple[float, int]], replayed: int, now: float) -> float:
    """Seconds since the primary was at WAL position ``replayed``, from ``samples`` of (instant,
    primary position), oldest first, each position at least the one before.

    0 when ``replayed`` reaches the newest sample. Between two samples the primary is taken to
    have written at an even pace (the instant it passed ``replayed`` is interpolated); behind the
    oldest sample the answer is the oldest sample's age, a lower bound."""
    if not samples:
        return math.inf
    newest_at, newest = samples[-1]
    if replayed >= newest:
        return 0.0
    later_at, later = newest_at, newest
    for at, position in reversed(samples):
        if position <= replayed:
            passed_at = at + (later_at - at) * (replayed - position) / (later - position)
            return max(0.0, now - passed_at)
        later_at, later = at, position
    return now - samples[0][0]


class ReadReplica:
    """The standby's pool, its measured lag and the choice of a pool for each read.

    ``lag_s`` is what the metrics publish (``grid_replication_lag_seconds``): seconds the
    standby's data is behind the primary's; ``math.inf`` while it is unreachable or not measured."""

    def __init__(
        self,
        *,
        primary: asyncpg.Pool,
        standby: asyncpg.Pool,
        primary_url: str,
        standby_url: str,
        max_lag_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.standby = standby
        self.max_lag_s = max_lag_s
        self.lag_s = math.inf
        self.problem: str | None = "not measured yet"
        self.in_recovery: bool | None = None  # the read server's own answer: False once promoted
        self._primary_url = primary_url
        self._standby_url = standby_url
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    @property
    def usable(self) -> bool:
        return self.problem is None and self.lag_s <= self.max_lag_s

    def pool(self) -> asyncpg.Pool:
        """The standby's pool when it is close enough, else the primary's."""
        return self.standby if self.usable else self.primary

    def lost(self, reason: str) -> None:
        """The standby cannot be used until a measurement succeeds again."""
        if self.problem is None:
            log.warning("read standby unavailable (%s): reads go to the primary", reason)
        self.lag_s = math.inf
        self.problem = reason

    @contextlib.asynccontextmanager
    async def connection(
        self, *, timeout: float, pool: asyncpg.Pool | None = None
    ) -> AsyncIterator[PoolConnectionProxy]:
        """A pooled connection for a read that may be a little behind.

        Without ``pool`` the choice is made now, and a standby that cannot be reached gives the read
        to the primary at once. With ``pool`` (from ``pool()``, taken once for an answer made of
        several reads) that pool is used whatever happens: an answer whose first read saw the
        primary must not read the standby, which may be behind it, afterwards.

        A query that the standby cancelled because it conflicted with replay is a 503 (the client
        retries), not a server error."""
        chosen = pool if pool is not None else self.pool()
        acquired: PoolConnectionProxy | None = None
        if chosen is self.standby:
            try:
                acquired = await self.standby.acquire(timeout=timeout)
            except CONNECT_FAILED as exc:  # refused, or silent (a host that drops packets), or its pool full
                self.lost(f"{type(exc).__name__}: {exc}"[:200])
                if pool is not None:
                    raise
                chosen = self.primary
        if acquired is None:
            acquired = await chosen.acquire(timeout=timeout)
        try:
            yield acquired
        except asyncpg.exceptions.SerializationError as exc:
            if chosen is self.standby and "conflict with recovery" in str(exc):
                raise DatabaseUnavailable("the read was cancelled by the standby's replay; retry") from exc
            raise
        finally:
            await chosen.release(acquired)

    def status(self) -> dict[str, Any]:
        """For /readyz: where reads go and why."""
        shown: dict[str, Any] = {
            "reads": "standby" if self.usable else "primary",
            "lag_s": None if math.isinf(self.lag_s) else round(self.lag_s, 3),
            "max_lag_s": self.max_lag_s,
        }
        if self.problem is not None:
            shown["problem"] = self.problem
        elif self.in_recovery is False:
            shown["note"] = "the read server is not in recovery (a primary, or a promoted standby)"
        return shown

    async def run(self, state: LoopState) -> None:
        """Measure the lag every second, for ever. Failures of either server are measurements
        (the lag becomes unknown), not failures of the loop."""
        primary: asyncpg.Connection | None = None
        standby: asyncpg.Connection | None = None
        cluster: int | None = None  # the primary's system identifier, checked against the standby's
        try:
            while True:
                started = self._clock()
                try:
                    if primary is None or primary.is_closed():
                        primary = await self._connect(self._primary_url)
                        cluster = await primary.fetchval(SYSTEM_IDENTIFIER, timeout=QUERY_TIMEOUT_S)
                    self._sample(await primary.fetchval(PRIMARY_POSITION, timeout=QUERY_TIMEOUT_S))
                except Exception as exc:  # the primary away: nothing to compare with
                    _drop(primary)
                    primary = None
                    self.lost(f"primary not measured: {type(exc).__name__}")
                    state.alive()
                    await asyncio.sleep(MEASURE_EVERY_S)
                    continue
                try:
                    if standby is None or standby.is_closed():
                        standby = await self._connect(self._standby_url)
                        found = await standby.fetchval(SYSTEM_IDENTIFIER, timeout=QUERY_TIMEOUT_S)
                        if found != cluster:
                            raise WrongCluster(f"system identifier {found}, the primary's is {cluster}")
                    self._measure(await standby.fetchrow(STANDBY_POSITION, timeout=QUERY_TIMEOUT_S))
                except Exception as exc:
                    _drop(standby)
                    standby = None
                    self.lost(f"{type(exc).__name__}: {exc}".strip()[:200])
                state.alive()
                await asyncio.sleep(max(0.0, MEASURE_EVERY_S - (self._clock() - started)))
        finally:
            _drop(primary)
            _drop(standby)

    async def _connect(self, url: str) -> asyncpg.Connection:
        conn: asyncpg.Connection = await host_order(url).connect(server_settings={"timezone": "UTC"})
        return conn

    def _sample(self, position: int) -> None:
        now = self._clock()
        if self._samples and position < self._samples[-1][1]:
            self._samples.clear()  # another primary (a promotion): its positions start a new history
        self._samples.append((now, position))
        while self._samples and self._samples[0][0] < now - HISTORY_S:
            self._samples.popleft()

    def _measure(self, row: asyncpg.Record | None) -> None:
        if row is None:
            raise WrongCluster("the standby answered nothing")
        self.in_recovery = row["in_recovery"]
        replayed = row["replayed"]
        if replayed is None:
            raise WrongCluster("the standby has replayed nothing yet")
        lag = lag_behind(self._samples, replayed, self._clock())
        if lag > 0 and self._samples and replayed < self._samples[0][1] and row["replay_age_s"] is not None:
            lag = max(lag, row["replay_age_s"])  # behind the whole history: the last commit replayed says more
        if self.problem is not None:
            log.info("read standby measured again: %.3fs behind", lag)
        self.problem = None
        self.lag_s = lag


class WrongCluster(Exception):
    """The read server cannot be compared with the primary."""


def _drop(conn: asyncpg.Connection | None) -> None:
    if conn is not None:
        conn.terminate()

"""One reader of the event log per worker, so that long-polls do not each query on every commit.

On every wake-up (a NOTIFY, or a short timer while a sequence gap may still
fill) the tracker advances the worker's safe horizon once and records, per
department, the last position with news for its queue. A waiting long-poll is
woken only when its own department has news, and asks the database only then:
a parked long-poll of a quiet department costs nothing, however busy the log.
While no long-poll waits, the tracker reads nothing; when one arrives it
restarts from the end of the log and has every waiter look once for itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import asyncpg

from grid_service.db import events as db_events
from grid_service.live.loops import LoopState
from grid_service.live.notifier import Notifier

GAP_RECHECK_S = 0.02  # while a gap may still fill, look again this often even without a wake-up
READ_EVERY_S = 0.025  # the least time between two reads of the log by the tracker


class EventTracker:
    def __init__(self, pool: asyncpg.Pool, notifier: Notifier, *, settle: dt.timedelta, timeout: float) -> None:
        self._pool = pool
        self._notifier = notifier
        self._settle = settle
        self._timeout = timeout
        self.horizon = 0  # every event up to here is safe to read, and its departments are known…
        self._since = 0  # …from here on (news before it is unknown: readers ask the database)
        self._latest: dict[str, int] = {}  # department → the last position in (since, horizon] with news
        self._tickets: dict[str, asyncio.Event] = {}  # department → set when it next has news
        self.waiters = 0
        self._following = False  # False while nobody waits: the log is not read for nothing
        self.closing = False  # shutting down: long-polls answer at once

    @property
    def following(self) -> bool:
        return self._following

    def ticket(self, department: str) -> asyncio.Event:
        """Taken before looking at the database: news that comes during the look still sets it."""
        ticket = self._tickets.get(department)
        if ticket is None:
            ticket = self._tickets[department] = asyncio.Event()
        return ticket

    def close(self) -> None:
        """Shutting down: every parked long-poll answers now (its client polls another worker)."""
        self.closing = True
        tickets, self._tickets = self._tickets, {}
        for ticket in tickets.values():
            ticket.set()

    async def wait(self, tickets: Sequence[asyncio.Event], timeout: float) -> None:
        """Until one of the tickets is set (news for one of the waiter's keys), or ``timeout``."""
        if self.closing:
            return
        self.waiters += 1
        if not self._following:
            self._notifier.wake()  # start following now
        waits = [asyncio.ensure_future(ticket.wait()) for ticket in tickets]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.waiters -= 1
            for waiting in waits:
                waiting.cancel()

    def known_upto(self, after: int) -> int | None:
        """A safe end for a reader that has seen everything up to ``after``: the horizon, when the
        tracker has followed the log since then; None when the reader must find its own."""
        return self.horizon if self._following and after >= self._since else None

    def news_for(self, department: str, after: int) -> bool | None:
        """Whether (after, horizon] holds news for ``department``; None when that is not known."""
        if not self._following or after < self._since:
            return None
        return self._latest.get(department, self._since) > after

    async def run(self, state: LoopState) -> None:
        """Follow the log while long-polls wait, from where it ends when they start. Errors end the
        pass (loops.py runs it again); the position stays, so nothing is skipped or repeated."""
        while True:
            ticket = self._notifier.ticket()
            gap_pending = False
            if self.waiters == 0:
                self._following = False  # nobody waits: stop reading until somebody does
            else:
                if not self._following:
                    await self._restart()
                started = asyncio.get_running_loop().time()
                gap_pending = await self._advance()
                # Under load, one read covers the commits of the next few milliseconds instead of
                # one read per commit.
                await asyncio.sleep(max(0.0, started + READ_EVERY_S - asyncio.get_running_loop().time()))
            state.alive()
            await self._notifier.wait(ticket, GAP_RECHECK_S if gap_pending else 30.0)

    async def _restart(self) -> None:
        """Follow again from the current end of the log; earlier ranges are unknown (readers query)."""
        async with self._pool.acquire(timeout=self._timeout) as conn:
            self.horizon = self._since = await db_events.last_seq(conn)
        self._latest.clear()
        self._following = True
        # Whatever was committed while nobody followed is unknown here: every waiter looks once itself.
        tickets, self._tickets = self._tickets, {}
        for ticket in tickets.values():
            ticket.set()

    async def _advance(self) -> bool:
        async with self._pool.acquire(timeout=self._timeout) as conn:
            found, departments = await db_events.news(conn, self.horizon, settle=self._settle)
        if found.seq > self.horizon:
            self.horizon = found.seq
            for department in departments:
                self._latest[department] = found.seq
                ticket = self._tickets.pop(department, None)
                if ticket is not None:
                    ticket.set()
        return found.gap_pending

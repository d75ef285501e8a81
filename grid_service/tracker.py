"""One reader of the event log per worker, so that long-polls do not each query on every commit.

On every wake-up (a NOTIFY, or a short timer while a sequence gap may still
fill) the tracker advances the worker's safe horizon once and records which
departments' queues have news in the newly safe range. A waiting long-poll
queries the database only when its own department has news. While no
long-poll waits, the tracker reads nothing; when one arrives it restarts from
the end of the log and has every waiter look once for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import deque

import asyncpg

from grid_service.db import events as db_events
from grid_service.loops import LoopState
from grid_service.notifier import Notifier

GAP_RECHECK_S = 0.02  # while a gap may still fill, look again this often even without a wake-up
REMEMBERED_RANGES = 4096  # recent (after, upto, departments) steps kept to answer "any news for me?"


class EventTracker:
    def __init__(self, pool: asyncpg.Pool, notifier: Notifier, *, settle: dt.timedelta, timeout: float) -> None:
        self._pool = pool
        self._notifier = notifier
        self._settle = settle
        self._timeout = timeout
        self.horizon = 0
        self._steps: deque[tuple[int, int, frozenset[str]]] = deque(maxlen=REMEMBERED_RANGES)
        self._advanced = asyncio.Event()
        self.waiters = 0
        self._following = False  # False while nobody waits: the log is not read for nothing

    def ticket(self) -> asyncio.Event:
        return self._advanced

    async def wait(self, ticket: asyncio.Event, timeout: float) -> None:
        self.waiters += 1
        if not self._following:
            self._notifier.wake()  # start following now
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await ticket.wait()
        finally:
            self.waiters -= 1

    def news_for(self, department: str, after: int) -> bool | None:
        """Whether (after, horizon] holds news for ``department``; None when that is not known."""
        if not self._following:
            return None
        if after >= self.horizon:
            return False
        if not self._steps or self._steps[0][0] > after:
            return None
        return any(upto > after and department in departments for _, upto, departments in self._steps)

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
                gap_pending = await self._advance()
            state.alive()
            await self._notifier.wait(ticket, GAP_RECHECK_S if gap_pending else 30.0)

    async def _restart(self) -> None:
        """Follow again from the current end of the log; earlier ranges are unknown (readers query)."""
        async with self._pool.acquire(timeout=self._timeout) as conn:
            self.horizon = await db_events.last_seq(conn)
        self._steps.clear()
        self._following = True
        # Whatever was committed while nobody followed is unknown here: every waiter looks once itself.
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def _advance(self) -> bool:
        async with self._pool.acquire(timeout=self._timeout) as conn:
            found = await db_events.horizon(conn, self.horizon, settle=self._settle)
            if found.seq > self.horizon:
                departments = await db_events.touched_departments(conn, after=self.horizon, upto=found.seq)
                self._steps.append((self.horizon, found.seq, frozenset(departments)))
                self.horizon = found.seq
                self._advanced.set()
                self._advanced = asyncio.Event()
        return found.gap_pending

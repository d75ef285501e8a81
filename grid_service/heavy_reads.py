"""Heavy reads (the full map, statistics, the cell layer) share a worker fairly with intake.

Each caller may have at most ``per_caller`` heavy reads in flight on a worker (more: 429 with
Retry-After, so one wall screen reloading in a loop cannot queue a hundred); and a worker does the
database-and-encoding work of at most ``per_worker`` of them at once (the others wait their turn
without holding a connection), so that however many screens ask, intake keeps the CPU it needs.
A turn covers computing an answer (or one page of a streamed one), never writing it to a client:
a slow or stalled client holds its own slot, not the worker's turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

from grid_service.errors import TooManyRequests


class HeavyReads:
    def __init__(self, *, per_caller: int, per_worker: int) -> None:
        self._per_caller = per_caller
        self._running = asyncio.Semaphore(per_worker)
        self._in_flight: Counter[int] = Counter()

    @property
    def in_flight(self) -> int:
        """Heavy reads running or waiting for their turn, of every caller."""
        return sum(self._in_flight.values())

    @contextlib.asynccontextmanager
    async def slot(self, caller: int) -> AsyncIterator[None]:
        """Hold a heavy-read slot for ``caller`` (a token id) for the whole request."""
        if self._in_flight[caller] >= self._per_caller:
            raise TooManyRequests(
                f"at most {self._per_caller} heavy reads (map, statistics, cells) at once per token; retry shortly"
            )
        self._in_flight[caller] += 1
        try:
            yield
        finally:
            self._in_flight[caller] -= 1
            if not self._in_flight[caller]:
                del self._in_flight[caller]

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """The worker's share: held while an answer (or a page of it) is read and encoded."""
        async with self._running:
            yield

"""Heavy reads (the full map, statistics, the cell layer) share a worker fairly with intake.

Each caller may have at most ``per_caller`` heavy reads in flight (more: 429 with Retry-After,
so one wall screen reloading in a loop cannot queue a hundred); and a worker runs at most
``per_worker`` of them at once (the others wait their turn without holding a connection), so that
however many screens ask, intake keeps the CPU it needs.
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
        """Hold a heavy-read slot for ``caller`` (a token id) while the read runs."""
        if self._in_flight[caller] >= self._per_caller:
            raise TooManyRequests(
                f"at most {self._per_caller} heavy reads (map, statistics, cells) at once per token; retry shortly"
            )
        self._in_flight[caller] += 1
        try:
            async with self._running:
                yield
        finally:
            self._in_flight[caller] -= 1
            if not self._in_flight[caller]:
                del self._in_flight[caller]

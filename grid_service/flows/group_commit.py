"""Group commit for intake: concurrent submissions of one worker share transactions.

Every intake is one database round trip and one commit. Under load, most of a
small transaction's cost is the transaction itself (snapshot, commit, WAL
flush) rather than its work, so reports that arrive while earlier ones are
being written are gathered and written together in the next transaction. At
low load nothing waits: a report is flushed at once whenever fewer than
``max_in_flight`` transactions are running. Every caller is answered only
after the transaction holding its report has committed, so a 2xx still means
durable.

Transactions are kept small (``max_items``): each holds the advisory locks of
its reports until it commits, so small transactions keep concurrent writers
from queueing behind each other; a 500-report batch becomes several of them.

Reports that share a lock key (a retry of the same client_id, or a report
that may be a duplicate of another) are written in the order they arrived: a
transaction never starts with a report whose keys an earlier transaction
still holds. Reports that share no key cannot affect each other.

One item that makes a shared transaction fail must not fail the others: on an
unexpected error the items are retried one by one, and only the item that
fails alone gets the error. Connection-level failures are passed to everyone
(nothing was acknowledged, the clients retry).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg

from grid_service.db.failures import DATABASE_DOWN
from grid_service.db.reports import Outcome, PreparedReport, intake

log = logging.getLogger(__name__)


class GroupCommitter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        timeout: float,
        max_items: int = 50,
        max_in_flight: int = 1,
        on_commit: Callable[[], None] = lambda: None,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._pool = pool
        self._on_commit = on_commit  # told after every committed transaction
        self._on_batch = on_batch  # told each committed transaction's size and its oldest report's wait
        self._timeout = timeout
        self._max_items = max_items
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[PreparedReport, asyncio.Future[Outcome]]] = []
        self._queued_at: dict[asyncio.Future[Outcome], float] = {}  # only while on_batch is given
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: Counter[int] = Counter()  # lock keys of the transactions in flight

    async def submit(self, prepared: list[PreparedReport]) -> list[Outcome]:
        """Store reports; one outcome each, in order, once their transaction has committed."""
        return list(await asyncio.gather(*self.enqueue(prepared)))

    def enqueue(self, prepared: list[PreparedReport]) -> list[asyncio.Future[Outcome]]:
        """Queue reports without waiting: a caller preparing a large batch hands it over part by
        part, so the first parts are being written while it prepares the rest."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Outcome]] = [loop.create_future() for _ in prepared]
        if self._on_batch is not None:
            now = loop.time()
            self._queued_at.update((future, now) for future in futures)
        self._pending.extend(zip(prepared, futures, strict=True))
        self._start_flushes()
        return futures

    async def drain(self) -> None:
        """Wait until every accepted report is written (graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start_flushes(self) -> None:
        while self._pending and len(self._tasks) < self._max_in_flight:
            batch = self._take_batch()
            if not batch:
                return  # resumed when a transaction in flight finishes
            batch_keys = [key for prepared, _ in batch for key in prepared.lock_keys]
            self._held.update(batch_keys)
            task = asyncio.create_task(self._flush(batch))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._flushed, held=batch_keys))

    def _take_batch(self) -> list[tuple[PreparedReport, asyncio.Future[Outcome]]]:
        """Up to ``max_items`` pending reports, oldest first, none of which shares a key with a report
        in flight or with an older report left waiting, so that reports sharing a key keep their order."""
        taken: list[tuple[PreparedReport, asyncio.Future[Outcome]]] = []
        waiting: list[tuple[PreparedReport, asyncio.Future[Outcome]]] = []
        blocked: set[int] = set()
        scan_limit = 4 * self._max_items
        for position, entry in enumerate(self._pending):
            if len(taken) == self._max_items or position == scan_limit:
                waiting.extend(self._pending[position:])
                break
            keys = entry[0].lock_keys
            if any(key in self._held or key in blocked for key in keys):
                blocked.update(keys)
                waiting.append(entry)
            else:
                taken.append(entry)
        self._pending = waiting
        return taken

    def _flushed(self, task: asyncio.Task[None], *, held: list[int]) -> None:
        self._tasks.discard(task)
        self._held.subtract(held)
        self._held = +self._held  # drop keys no longer held
        self._start_flushes()

    async def _flush(self, batch: list[tuple[PreparedReport, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await intake(self._pool, [p for p, _ in batch], timeout=self._timeout)
        except DATABASE_DOWN as exc:
            for _, future in batch:
                self._queued_at.pop(future, None)
                settle(future, exc=exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                self._queued_at.pop(batch[0][1], None)
                settle(batch[0][1], exc=exc)
                return
            log.warning("a shared intake transaction failed; retrying its %d reports one by one", len(batch))
            for item in batch:
                await self._flush([item])
            return
        self._on_commit()
        if self._on_batch is not None:
            queued = [self._queued_at.pop(future, None) for _, future in batch]
            oldest = min((at for at in queued if at is not None), default=None)
            self._on_batch(len(batch), 0.0 if oldest is None else asyncio.get_running_loop().time() - oldest)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            settle(future, result=outcome)


def settle(future: asyncio.Future[Any], *, result: Any = None, exc: BaseException | None = None) -> None:
    """Answer a waiting caller, unless it went away (what it asked for stands all the same)."""
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)

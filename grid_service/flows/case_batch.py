"""Casework batched: a worker's concurrent one-statement actions share their round trips and commit.

An action on a case with no check out and no photo along is a read of the case, a decision and one
write guarded by the row's version (flows/casework.py). Most of its cost is the two round trips and
the commit, not the work; so actions that arrive while earlier ones are being written are gathered,
as intake gathers reports (group_commit.py): one read of all their cases, a decision each, and one
statement writing every change with its events and reading every case back
(db/case_read.change_and_read). At low load nothing waits: a batch starts whenever fewer than
``max_in_flight`` are running.

Each statement commits on its own, so every caller is answered after its change is durable. An
action the decision refuses (404, 409, 422) is refused alone; a change whose case changed after the
read is not written, and its caller reads and decides again (STALE). Two actions on one case in one
batch are decided on the same row: one of them is written, the other is STALE and then decided on
the case as the first left it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from grid_service.auth import Principal
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import cases as db_cases
from grid_service.db.case_changes import Guarded
from grid_service.db.case_read import WholeCase, change_and_read
from grid_service.db.failures import DATABASE_DOWN
from grid_service.db.pool import Conn
from grid_service.db.rows import LockedCase
from grid_service.domain.states import Action
from grid_service.errors import ApiError, NotFound
from grid_service.flows.group_commit import settle as _settle

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Asked:
    """One action as its caller asked for it."""

    case_id: uuid.UUID
    action: Action
    caller: Principal
    body: Any
    snapshot: ConfigSnapshot
    now: dt.datetime  # the caller's instant: the change's


class Unwritten(enum.Enum):
    STALE = "stale"  # the case changed after it was read: read and decide again
    CHECK_OUT = "check_out"  # an inspector is out on a check of it: the locked path ends the check too


Decide = Callable[[Conn, LockedCase, Asked], Awaitable[Guarded]]


class CaseBatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        decide: Decide,
        timeout: float,
        max_items: int = 32,
        max_in_flight: int = 1,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._decide = decide
        self._timeout = timeout
        self._max_items = max_items
        self._max_in_flight = max_in_flight
        self._on_commit = on_commit
        self._pending: list[tuple[Asked, asyncio.Future[WholeCase | Unwritten]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, asked: Asked) -> WholeCase | Unwritten:
        """The case after the action, once written; or why it was not. Raises what the decision
        refused (an ApiError) and database failures."""
        future: asyncio.Future[WholeCase | Unwritten] = asyncio.get_running_loop().create_future()
        self._pending.append((asked, future))
        self._start_batches()
        return await future

    async def drain(self) -> None:
        """Wait until every action handed over is written (graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start_batches(self) -> None:
        while self._pending and len(self._tasks) < self._max_in_flight:
            batch, self._pending = self._pending[: self._max_items], self._pending[self._max_items :]
            task = asyncio.create_task(self._write(batch))
            self._tasks.add(task)
            task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._start_batches()

    async def _write(self, batch: list[tuple[Asked, asyncio.Future[WholeCase | Unwritten]]]) -> None:
        try:
            written = await self._decide_and_write(batch)
        except DATABASE_DOWN as exc:
            for _, future in batch:
                _settle(future, exc=exc)
            return
        except asyncpg.PostgresError as exc:
            # The database refused the statement (nothing of it was written): one change it cannot
            # store, or a deadlock with another writer. Each action alone, decided afresh.
            open_ = [entry for entry in batch if not entry[1].done()]
            if len(open_) <= 1:
                for _, future in open_:
                    _settle(future, exc=exc)
                return
            log.warning("a shared casework statement failed (%s); writing its %d actions one by one", exc, len(open_))
            for entry in open_:
                await self._write([entry])
            return
        except Exception as exc:  # anything else may have come after the commit: never written twice
            for _, future in batch:
                _settle(future, exc=exc)
            return
        if written:
            self._on_commit()

    async def _decide_and_write(self, batch: list[tuple[Asked, asyncio.Future[WholeCase | Unwritten]]]) -> bool:
        """Decide and write the batch, answering each caller; whether anything was written."""
        async with self._pool.acquire(timeout=self._timeout) as conn:
            rows = await db_cases.read_cases(conn, [asked.case_id for asked, _ in batch])
            decided: list[tuple[Guarded, asyncio.Future[WholeCase | Unwritten]]] = []
            for asked, future in batch:
                row = rows.get(asked.case_id)
                if row is None:
                    _settle(future, exc=NotFound("no such case"))
                elif row.checks_open:
                    _settle(future, result=Unwritten.CHECK_OUT)
                else:
                    try:
                        decided.append((await self._decide(conn, row, asked), future))
                    except ApiError as exc:
                        _settle(future, exc=exc)
            if not decided:
                return False
            # In the order of their cases: two batches (of two workers) lock their rows in one order.
            decided.sort(key=lambda entry: entry[0].case_id)
            after = await change_and_read(conn, [guarded for guarded, _ in decided])
        for n, (_, future) in enumerate(decided):
            _settle(future, result=after.get(n, Unwritten.STALE))
        return bool(after)

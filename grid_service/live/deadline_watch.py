"""The deadline watch: every worker records warnings, overdue cases and escalations as they fall due,
and re-assigns overdue check tasks.

There is no leader to lose: each worker sweeps on its own, at least every
``interval`` (a little less, at random, so that workers do not sweep in
step), and the database makes every record happen once (db/deadline_watch.py).
A case is noticed at most ``interval`` (plus one sweep) after it falls due.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from grid_service.configuration.people import InspectorsConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import case_changes as db_changes
from grid_service.db import deadline_watch as db_watch
from grid_service.db import tasks as db_tasks
from grid_service.db.case_changes import Guarded
from grid_service.db.pool import Conn
from grid_service.db.rows import LockedCase
from grid_service.domain.steps import STEPS
from grid_service.flows import casework
from grid_service.live.loops import LoopState

BATCH = 1000  # cases marked per statement (and per transaction)
# Resumes are decided in Python while the next batch is read and the ones before are written:
# smaller batches fill that pipeline sooner and drain it sooner (bench/disputes_watch.py).
RESUME_BATCH = 500
# Batches of resumes written at once, each in its own transaction: with one, the worker waited for
# each batch's write before writing the next (bench/disputes_watch.py).
RESUME_WRITERS = 2


@dataclass(frozen=True, slots=True)
class Sweep:
    warnings: int
    overdue: int
    escalations: int
    reassigned: int  # overdue check tasks given to another inspector (once each)
    steps: int = 0  # cases recorded over a step's limit (上报→受理, 立案→派遣)
    acceptance: int = 0  # dispatched cases not signed for within the sign-for limit
    supervision: int = 0  # 督办 not answered within its reply limit
    resumed: int = 0  # suspended cases resumed at their until

    @property
    def events(self) -> int:
        return (
            self.warnings
            + self.overdue
            + self.escalations
            + self.reassigned
            + self.steps
            + self.acceptance
            + self.supervision
            + self.resumed
        )


class DeadlineWatch:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        config: Callable[[], ConfigSnapshot],
        clock: Callable[[], dt.datetime],
        on_change: Callable[[], None],
        interval: float,
        timeout: float,
    ) -> None:
        self._pool = pool
        self._config = config
        self._clock = clock
        self._on_change = on_change  # told when events were written (wakes feeds and queues)
        self._interval = interval
        self._timeout = timeout

    async def run(self, state: LoopState) -> None:
        """Sweep at least every interval; an error ends the pass (loops.py runs it again), and the
        next sweep records whatever fell due meanwhile."""
        while True:
            await asyncio.sleep(self._interval * random.uniform(0.5, 1.0))
            await self.sweep()
            state.alive()

    async def sweep(self) -> Sweep:
        """One pass: everything that has fallen due by now, in batches, each batch its own transaction."""
        now = self._clock()
        snapshot = self._config()
        ladder = snapshot.escalation
        minutes = snapshot.filing.steps.minutes
        # resumed first: a case back at work is watched again in this same pass
        counts = [await self._resume_due(snapshot, now)]
        records: tuple[Callable[[Conn], Awaitable[int]], ...] = (
            lambda conn: db_watch.record_acceptance_overdue(conn, now=now, limit=BATCH),
            lambda conn: db_watch.record_supervision_overdue(conn, now=now, limit=BATCH),
            lambda conn: db_watch.record_warnings(conn, now=now, limit=BATCH),
            lambda conn: db_watch.record_overdue(conn, now=now, limit=BATCH),
            lambda conn: db_watch.record_escalations(
                conn, now=now, ladder=ladder, calendar=snapshot.calendar, limit=BATCH
            ),
            lambda conn: reassign_overdue_tasks(
                conn, inspectors=snapshot.inspectors, now=now, minutes=minutes["task"], limit=BATCH
            ),
            *(
                functools.partial(
                    db_watch.record_step_overdue, now=now, step=step, minutes=minutes[step.name], limit=BATCH
                )
                for step in STEPS.values()
            ),
        )
        for record in records:
            total = 0
            while True:
                async with self._pool.acquire(timeout=self._timeout) as conn:
                    written = await record(conn)
                total += written
                if written:
                    self._on_change()
                if written < BATCH:  # a full batch may leave more behind; a short one cannot
                    break
            counts.append(total)
        resumed, acceptance, supervision, warnings, overdue, escalations, reassigned, *steps = counts
        return Sweep(
            warnings,
            overdue,
            escalations,
            reassigned,
            steps=sum(steps),
            acceptance=acceptance,
            supervision=supervision,
            resumed=resumed,
        )

    async def _resume_due(self, snapshot: ConfigSnapshot, now: dt.datetime) -> int:
        """Resume every suspended case whose until has come, a batch at a time, in a pipeline: the
        next batch is read while this one is decided, and up to ``RESUME_WRITERS`` decided batches are
        written at once, each on its own connection (the batches hold different cases), so the
        database reads and writes while the worker computes the moved deadlines. How many were
        resumed."""
        total = 0
        writing: list[asyncio.Task[int]] = []
        reading = asyncio.create_task(self._read_resumes(now, after=None))
        try:
            while True:
                rows = await reading
                more = len(rows) == RESUME_BATCH
                if more:  # the next batch starts after this one's last case
                    reading = asyncio.create_task(self._read_resumes(now, after=rows[-1]))
                async with self._pool.acquire(timeout=self._timeout) as conn:
                    resumes = await casework.decide_resumes(conn, rows, snapshot=snapshot, now=now)
                if len(writing) == RESUME_WRITERS:
                    total += await writing.pop(0)
                if resumes:
                    writing.append(asyncio.create_task(self._write_resumes(resumes)))
                if not more:
                    break
            while writing:
                total += await writing.pop(0)
        finally:
            # the pass failed: let the reads and writes under way end
            await asyncio.gather(reading, *writing, return_exceptions=True)
        return total

    async def _read_resumes(self, now: dt.datetime, *, after: LockedCase | None) -> list[LockedCase]:
        async with self._pool.acquire(timeout=self._timeout) as conn:
            return await db_watch.due_to_resume(conn, now=now, limit=RESUME_BATCH, after=after)

    async def _write_resumes(self, resumes: list[Guarded]) -> int:
        async with self._pool.acquire(timeout=self._timeout) as conn:
            written = await db_changes.change_and_log_many(conn, resumes)
        if written:
            self._on_change()
        return written


async def reassign_overdue_tasks(
    conn: Conn, *, inspectors: InspectorsConfig, now: dt.datetime, minutes: float, limit: int
) -> int:
    """Overdue check tasks, each given once to another inspector of the case's community, then of
    its street, else to the receivers' queue; SKIP LOCKED makes each happen once across workers."""
    async with conn.transaction():
        due = await db_tasks.due(conn, now=now, limit=limit)
        for task in due:
            await db_tasks.record_task_overdue(conn, task, at=now)
            fresh = (now + dt.timedelta(minutes=minutes)).replace(microsecond=0)
            to = inspectors.another(task.grid_code, besides=task.assigned_to)
            await db_tasks.reassign(conn, task, to=to, at=now, due_at=fresh)
    return len(due)

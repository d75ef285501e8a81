"""`serve --workers N`: N worker processes on one port, each replaced when it dies.

The parent only watches. A worker that exits while the service is not stopping (killed with
kill -9, out of memory, a crash) is logged with how it ended and replaced at once; one that keeps
dying is replaced after a growing pause, so a broken deployment does not spin. On SIGTERM or
SIGINT every worker is asked to stop (it drains its requests) and the parent waits for all.
Workers ask the kernel to stop them if the parent itself dies, so none is left behind.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)

QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after starting counts as failing to start
MAX_PAUSE_S = 30.0
PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """In a worker: SIGTERM when the parent process dies (Linux), then check it has not already."""
    parent = multiprocessing.parent_process()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's clean stop still ends the workers
        return
    if parent is not None and os.getppid() != parent.pid:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def _how(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class Supervisor:
    def __init__(
        self,
        count: int,
        target: Callable[..., None],
        args: tuple[Any, ...],
        *,
        on_end: Callable[[int, int | None], None] = lambda slot, pid: None,
    ) -> None:
        """Each worker runs ``target(*args, slot)``; ``on_end(slot, pid)`` is told when one has ended,
        before its replacement starts in that slot."""
        self._count = count
        self._target = target
        self._args = args
        self._on_end = on_end
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, tuple[BaseProcess, float]] = {}  # slot → (process, started at)
        self._quick_deaths: dict[int, int] = {}
        self._due: dict[int, float] = {}  # slot → when its replacement starts (a worker that keeps dying)
        self._stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self._count):
            self._start(slot)
        while self._workers or (self._due and not self._stopping):
            by_sentinel = {process.sentinel: slot for slot, (process, _) in self._workers.items()}
            soonest = min(self._due.values(), default=time.monotonic() + 1.0)
            timeout = max(0.0, min(1.0, soonest - time.monotonic()))
            for sentinel in multiprocessing.connection.wait(list(by_sentinel), timeout=timeout):
                self._ended(by_sentinel[sentinel])  # type: ignore[index]
            for slot, at in list(self._due.items()):
                if at <= time.monotonic() and not self._stopping:
                    del self._due[slot]
                    self._start(slot)

    def _start(self, slot: int) -> None:
        process = self._context.Process(target=self._target, args=(*self._args, slot), name=f"worker-{slot}")
        process.start()
        self._workers[slot] = (process, time.monotonic())

    def _ended(self, slot: int) -> None:
        process, started = self._workers.pop(slot)
        process.join()
        self._on_end(slot, process.pid)
        if self._stopping:
            return
        lived = time.monotonic() - started
        self._quick_deaths[slot] = self._quick_deaths.get(slot, 0) + 1 if lived < QUICK_DEATH_S else 0
        pause = min(MAX_PAUSE_S, 0.5 * 2 ** (self._quick_deaths[slot] - 1)) if self._quick_deaths[slot] else 0.0
        log.error(
            "worker %s (pid %s) %s after %.0f s; starting a replacement%s",
            process.name,
            process.pid,
            _how(process),
            lived,
            f" in {pause:.1f} s" if pause else "",
            extra={"worker_pid": process.pid, "exitcode": process.exitcode},
        )
        if pause:
            self._due[slot] = time.monotonic() + pause  # the others are still watched meanwhile
        else:
            self._start(slot)
            log.info("worker %s replaced by pid %s", process.name, self._workers[slot][0].pid)

    def _stop(self, _signum: int, _frame: Any) -> None:
        self._stopping = True
        for process, _ in self._workers.values():
            if process.is_alive() and process.pid:
                process.terminate()  # SIGTERM: each worker drains its requests and exits

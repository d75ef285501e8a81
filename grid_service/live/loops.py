"""The worker's long-lived loops, kept running whatever happens, and watched.

A loop that ends by an exception is logged, waits (0.1 s, doubling to 2 s) and runs again from
the start of its body, which re-establishes what it needs (a connection, a position in the log).
A body says ``alive()`` after every pass that worked; until it does again, the loop counts as
failing, and /readyz names it. Nothing but cancellation (shutdown) stops a loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from grid_service import metrics

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 2.0


@dataclass
class LoopState:
    name: str
    failure: str | None = None  # why the last pass failed, until a pass works again
    failing_since: float | None = None
    restarts: int = 0
    task: asyncio.Task[None] = field(init=False, repr=False)

    def alive(self) -> None:
        """A pass of the loop worked."""
        self.failure = None
        self.failing_since = None


Body = Callable[[LoopState], Awaitable[None]]


class Loops:
    def __init__(self) -> None:
        self._states: dict[str, LoopState] = {}

    def start(self, name: str, body: Body) -> LoopState:
        """Run ``body(state)`` until shutdown, again after every failure."""
        state = LoopState(name)
        state.task = asyncio.create_task(self._keep_running(state, body), name=f"loop:{name}")
        self._states[name] = state
        return state

    def state(self, name: str) -> LoopState:
        return self._states[name]

    def names(self) -> list[str]:
        return list(self._states)

    def problems(self) -> dict[str, str]:
        """The loops that are not running as they should, and why."""
        found = {}
        for name, state in self._states.items():
            if state.task.done():
                found[name] = "stopped"
            elif state.failure is not None:
                since = time.monotonic() - (state.failing_since or time.monotonic())
                found[name] = f"failing for {since:.1f}s: {state.failure}"
        return found

    async def stop(self, *names: str) -> None:
        """Cancel the named loops (at shutdown, before what they use is closed) and wait for them."""
        tasks = [self._states.pop(name).task for name in names if name in self._states]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_running(self, state: LoopState, body: Body) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                await body(state)
                reason = "the loop ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any error: the loop must outlive it
                reason = f"{type(exc).__name__}: {exc}".strip()[:300]
            if state.failure is None:  # it had worked since its last failure: start the backoff afresh
                backoff = FIRST_BACKOFF_S
                state.failing_since = time.monotonic()
            else:
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            state.failure = reason
            state.restarts += 1
            metrics.LOOP_RESTARTS.labels(state.name).inc()
            log.warning("loop %s failed (%s); running it again in %.1fs", state.name, reason, backoff)
            await asyncio.sleep(backoff)

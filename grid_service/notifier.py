"""Wake-ups for readers of the event log, from PostgreSQL LISTEN/NOTIFY.

Each worker keeps one dedicated connection LISTENing on ``grid_events`` (never
a pooled one: a pooled connection is handed to other work). Code that commits
events calls ``Notifier.published()`` after the commit; the worker then sends
one NOTIFY on its dedicated connection for everything committed since its
last one, which wakes the waiters of every worker and host. The NOTIFY is not
sent from inside the writing transactions on purpose: PostgreSQL serialises
the commits of notifying transactions, which would cap intake.

When the connection is lost the listener reconnects with backoff and wakes
every waiter, who then re-reads from its own cursor: nothing is missed across
a reconnect, because the cursor, not the notification, says what is new.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "grid_events"
PUBLISH_EVERY_S = 0.01


class Notifier:
    """Wakes every waiter of this worker when something was committed.

    A reader takes a ``ticket`` *before* it looks at the database and waits on
    that ticket after: a commit that lands between its look and its wait has
    already set the ticket, so no wake-up is ever lost.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.waiters = 0
        self._to_publish = asyncio.Event()

    def published(self) -> None:
        """Events were committed here: wake this worker's waiters now and tell the other workers."""
        self.wake()
        self._to_publish.set()

    def wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()  # later tickets wait for the next commit

    def ticket(self) -> asyncio.Event:
        return self._event

    async def wait(self, ticket: asyncio.Event, timeout: float) -> bool:
        """True when woken since ``ticket`` was taken, False when ``timeout`` seconds passed first."""
        event = ticket
        self.waiters += 1
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self.waiters -= 1


async def listen(url: str, notifier: Notifier, *, max_backoff: float = 5.0) -> None:
    """Run until cancelled: keep a LISTEN connection, waking ``notifier`` on every notification."""
    backoff = 0.1

    def on_notify(*_: Any) -> None:
        notifier.wake()

    async def publish(conn: asyncpg.Connection) -> None:
        while True:
            await notifier._to_publish.wait()
            notifier._to_publish.clear()  # commits from here on go into the next NOTIFY
            await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
            # Under load, one NOTIFY covers every commit of the next few milliseconds: each NOTIFY
            # is a transaction that signals every listening backend.
            await asyncio.sleep(PUBLISH_EVERY_S)

    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(url)
            lost = asyncio.Event()
            conn.add_termination_listener(functools.partial(_set, lost))
            await conn.add_listener(CHANNEL, on_notify)
            backoff = 0.1
            notifier.wake()  # anything committed while we were not listening is found by the readers' cursors
            publisher = asyncio.create_task(publish(conn))
            try:
                await asyncio.wait([publisher, asyncio.create_task(lost.wait())], return_when=asyncio.FIRST_COMPLETED)
            finally:
                publisher.cancel()
            log.warning("event listener connection lost; reconnecting")
        except asyncio.CancelledError:
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("event listener cannot connect (%s); retrying in %.1fs", type(exc).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()


def _set(event: asyncio.Event, _connection: object) -> None:
    event.set()

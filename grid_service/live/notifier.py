"""Wake-ups for readers of the event log, from PostgreSQL LISTEN/NOTIFY.

Each worker keeps one dedicated connection LISTENing on ``grid_events`` (never
a pooled one: a pooled connection is handed to other work). Code that commits
events calls ``Notifier.published()`` after the commit; the worker then sends
one NOTIFY on its dedicated connection for everything committed since its
last one, which wakes the waiters of every worker and host. The NOTIFY is not
sent from inside the writing transactions on purpose: PostgreSQL serialises
the commits of notifying transactions, which would cap intake.

When the connection is lost the listener reconnects with backoff (loops.py)
and wakes every waiter, who then re-reads from its own cursor: nothing is
missed across a reconnect, because the cursor, not the notification, says
what is new.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import asyncpg

from grid_service.db.replicas import host_order
from grid_service.live.loops import LoopState

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


async def listen(url: str, notifier: Notifier, state: LoopState) -> None:
    """Keep a LISTEN connection, waking ``notifier`` on every notification and sending its NOTIFYs.

    Returns only by raising, when the connection fails or is lost; loops.py connects again."""

    def on_notify(*_: Any) -> None:
        notifier.wake()

    # Host by host, each given a few seconds (db/replicas.py HostOrder): the URL may name a primary and
    # its standbys, and after a failover the LISTEN connection must reach the promoted one.
    conn = await host_order(url).connect(server_settings={"application_name": "grid-service-listener"})
    lost = asyncio.Event()
    conn.add_termination_listener(functools.partial(_set, lost))
    try:
        await conn.add_listener(CHANNEL, on_notify)
        notifier.wake()  # anything committed while we were not listening is found by the readers' cursors
        # …and other workers are told too: a NOTIFY this worker owed them may have been lost with
        # the old connection.
        notifier._to_publish.set()
        state.alive()
        publisher = asyncio.create_task(_publish(conn, notifier))
        watcher = asyncio.create_task(lost.wait())
        try:
            await asyncio.wait({publisher, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (publisher, watcher):
                task.cancel()
            await asyncio.gather(publisher, watcher, return_exceptions=True)
        failure = publisher.exception() if publisher.done() and not publisher.cancelled() else None
        if failure is not None:
            raise failure
        raise ConnectionError("the LISTEN connection was lost")
    finally:
        notifier.wake()  # waiters look at the log themselves while nobody listens
        conn.terminate()


async def _publish(conn: asyncpg.Connection, notifier: Notifier) -> None:
    while True:
        await notifier._to_publish.wait()
        notifier._to_publish.clear()  # commits from here on go into the next NOTIFY
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
        # Under load, one NOTIFY covers every commit of the next few milliseconds: each NOTIFY
        # is a transaction that signals every listening backend.
        await asyncio.sleep(PUBLISH_EVERY_S)


def _set(event: asyncio.Event, _connection: object) -> None:
    event.set()

"""The live feed: one reader of the event log per worker, fanned out to every subscriber.

The hub follows the log while anybody subscribes, up to the safe horizon
(domain/horizon.py), so an event that commits after a higher one is still
delivered, and in order. Each event is read once, with its case, and encoded
once; subscribers only filter and queue the encoded frame.

A subscriber is told the hub's position when it joins: every later event
reaches its queue, and it reads what it missed before that position from the
database itself. Both parts come in sequence order and a subscriber never
sends a sequence at or below the last one it sent, so nothing is repeated;
both stop at safe horizons, so nothing is skipped.

A subscriber that does not keep up is cut off once its queue holds
``buffer_events`` frames (the server never buffers without bound); its client
reconnects with Last-Event-ID and catches up from the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg
import orjson

from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import events as db_events
from grid_service.db import feed as db_feed
from grid_service.db.rows import FeedEvent
from grid_service.live.loops import LoopState
from grid_service.live.notifier import Notifier
from grid_service.live.tracker import GAP_RECHECK_S
from grid_service.presenters import map_feature

PAGE = 1000  # events read per query
DIRECT_WRITE_MAX = 32 * 1024  # larger writes go through the subscriber's sender, which may wait


def event_frame(row: FeedEvent, snapshot: ConfigSnapshot, now: dt.datetime) -> bytes:
    """One Server-Sent Event: the sequence as its id, the event type, the case as a map Feature."""
    feature = map_feature(row.case, snapshot, now)
    feature["properties"]["event"] = {
        "seq": row.seq,
        "type": row.event_type,
        "at": row.event_at.astimezone(snapshot.calendar.timezone).isoformat(),
    }
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (row.seq, row.event_type.encode(), orjson.dumps(feature))


class Subscriber:
    """One client of the feed: its filter, the last sequence it was sent, and frames queued for it.

    While its connection keeps up, the hub writes to it directly (one write per read of the log,
    no task switch); otherwise frames queue for its own sender task, which writes them in order.
    """

    def __init__(
        self,
        area: db_feed.Area,
        *,
        buffer_events: int,
        on_overflow: Callable[[], None],
        write: Callable[[bytes], Awaitable[None]],
        backlog: Callable[[], int],
    ) -> None:
        self.area = area
        self._limit = buffer_events
        self._on_overflow = on_overflow
        self._write = write
        self._backlog = backlog  # bytes written but not yet taken by the kernel
        self.frames: deque[tuple[int, bytes]] = deque()
        self.ready = asyncio.Event()
        self.closed = False
        self.sent = 0  # the highest sequence written to the client
        self._idle = False  # the sender waits with nothing queued: the hub may write itself

    async def deliver(self, items: list[tuple[int, bytes]], everything: bytes, count: int) -> None:
        """The frames of one read of the log that this subscriber wants, in order; ``everything`` is
        all ``count`` frames of that read joined, reused when it wants every one of them."""
        if self.closed:
            return
        fresh = items if items[0][0] > self.sent else [item for item in items if item[0] > self.sent]
        if not fresh:
            return
        if self._idle and self._backlog() == 0:
            payload = everything if len(fresh) == count else b"".join(frame for _, frame in fresh)
            if len(payload) <= DIRECT_WRITE_MAX:
                # Nothing is pending anywhere, so this write cannot wait for the client: no task switch.
                self.sent = fresh[-1][0]
                try:
                    await self._write(payload)
                except ConnectionError:
                    self.close()
                return
        for seq, frame in fresh:
            if len(self.frames) >= self._limit:
                self.close()
                self._on_overflow()
                return
            self.frames.append((seq, frame))
        self.ready.set()

    def close(self) -> None:
        """Stop: the sender finishes what it is writing and ends the response."""
        self.closed = True
        self.frames.clear()
        self.ready.set()

    async def send(self, after: int, replay: Callable[[int], Awaitable[int]]) -> None:
        """The sender: what the client missed (``replay`` writes from the database and returns where it
        stopped), then whatever the hub queues, until closed or the client goes away."""
        self.sent = after
        try:
            self.sent = await replay(self.sent)
            while not self.closed:
                if not self.frames:
                    self._idle = True
                    self.ready.clear()
                    await self.ready.wait()
                    self._idle = False
                fresh = [(seq, frame) for seq, frame in self.frames if seq > self.sent]
                self.frames.clear()
                if fresh and not self.closed:
                    self.sent = fresh[-1][0]
                    await self._write(b"".join(frame for _, frame in fresh))
        except ConnectionError:
            # The client went away, or stalled: the kernel gives up on unacknowledged data after
            # feed_send_timeout_s (TCP_USER_TIMEOUT), and a client whose queue fills is cut off.
            self.closed = True


class FeedHub:
    def __init__(
        self,
        pool: asyncpg.Pool,
        notifier: Notifier,
        *,
        config: Callable[[], ConfigSnapshot],
        clock: Callable[[], dt.datetime],
        settle: dt.timedelta,
        timeout: float,
        interval: float = 0.05,
    ) -> None:
        self._pool = pool
        self._notifier = notifier
        self._interval = interval  # the least time between two reads of the log
        self._config = config
        self._clock = clock
        self._settle = settle
        self._timeout = timeout
        self._subscribers: set[Subscriber] = set()
        self._joining = 0  # subscribers waiting for the hub to find its position
        self._wanted = asyncio.Event()  # somebody subscribes: follow the log
        self._positioned = asyncio.Event()
        self.position = 0  # every event up to here was offered to the current subscribers

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def subscribe(self, subscriber: Subscriber) -> int:
        """Join; every event after the returned position will be offered to ``subscriber``."""
        self._joining += 1
        try:
            self._wanted.set()
            self._notifier.wake()
            async with asyncio.timeout(self._timeout):
                await self._positioned.wait()
        finally:
            self._joining -= 1
        self._subscribers.add(subscriber)
        return self.position

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def close_all(self) -> None:
        """Shutting down: end every feed (clients reconnect to another worker with Last-Event-ID)."""
        for subscriber in list(self._subscribers):
            subscriber.close()

    async def run(self, state: LoopState) -> None:
        """Follow the log while anybody subscribes. Errors end the pass (loops.py runs it again);
        the position stays, so subscribers miss nothing and get nothing twice."""
        while True:
            if not self._subscribers and not self._joining and self._positioned.is_set():
                # Nobody listens: stop reading; the next subscriber starts from a fresh position.
                self._positioned.clear()
                self._wanted.clear()
            await self._wanted.wait()
            ticket = self._notifier.ticket()
            if not self._positioned.is_set():
                async with self._pool.acquire(timeout=self._timeout) as conn:
                    self.position = await db_feed.live_position(conn, settle=self._settle)
                self._positioned.set()
                state.alive()
                continue  # subscribers may join now; read on the next pass
            started = asyncio.get_running_loop().time()
            gap_pending = await self._advance()
            state.alive()
            # Gather what commits meanwhile into the next read: a thousand subscribers cost one
            # wake-up and one write each per read, however many events it brings.
            await asyncio.sleep(max(0.0, started + self._interval - asyncio.get_running_loop().time()))
            await self._notifier.wait(ticket, GAP_RECHECK_S if gap_pending else 15.0)

    async def _advance(self) -> bool:
        async with self._pool.acquire(timeout=self._timeout) as conn:
            found = await db_events.horizon(conn, self.position, settle=self._settle)
            while self.position < found.seq:
                rows = await db_feed.events(conn, after=self.position, upto=found.seq, limit=PAGE)
                await self._fan_out(rows)
                self.position = rows[-1].seq if len(rows) == PAGE else found.seq
        return found.gap_pending

    async def _fan_out(self, rows: list[FeedEvent]) -> None:
        snapshot, now = self._config(), self._clock()
        wanted: dict[Subscriber, list[tuple[int, bytes]]] = {}
        frames = []
        for row in rows:
            listeners = [s for s in self._subscribers if s.area.matches(row.case)]
            if listeners:
                item = (row.seq, event_frame(row, snapshot, now))
                frames.append(item[1])
                for subscriber in listeners:
                    wanted.setdefault(subscriber, []).append(item)
        everything = b"".join(frames)
        for subscriber, items in wanted.items():
            await subscriber.deliver(items, everything, len(frames))

"""Per-caller limits: requests per token and per address, and feeds and long-polls open per token.

The counts live in shared memory that the workers of one host share (``serve --workers N``: the
parent makes it before it starts the workers and hands it to each), so N workers do not multiply
a token's allowance by N. Separate hosts each count their own: a deployment of H hosts behind one
balancer grants a token at most H times the configured rate (docs/operations.md).

The request rate is a token bucket kept as one number per key (the generic cell rate algorithm):
the instant at which the key's bucket will be full again. A request is let through while that
instant is less than ``burst`` requests ahead of now; each request moves it on by ``1 / rate``.
The table is a fixed array addressed by a hash of the key; a slot whose instant has passed holds
nothing worth keeping and is taken by the next key that needs one.

The open feeds and long-polls are counted per worker (one row each), so that the parent can zero
a killed worker's row when it replaces it: what a worker held dies with it. A limit is checked
against the sum over the rows.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import math
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from grid_service.errors import TooManyRequests

UNLIMITED_ROUTES = frozenset({"healthz", "readyz"})  # a balancer's probes, from one address, never limited
RATE_SLOTS = 8192
HELD_SLOTS = 2048
PROBES = 8  # slots looked at for one key before the least useful is taken over


def _key_hash(kind: str, key: str) -> int:
    """A non-zero 63-bit hash (0 marks an empty slot)."""
    digest = hashlib.blake2b(f"{kind}\0{key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 1) or 1


class FileLock:
    """A lock between processes that the kernel releases when its holder dies (flock): a worker
    killed with kill -9 inside a count must not leave the others waiting for ever, as a semaphore
    would. Each process opens the file for itself (a pickled lock carries only the path)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_fd": None}

    def __enter__(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class SharedCounts:
    """The shared memory and its lock. Picklable while a worker process is being started, so the
    parent passes it to each worker; a lone worker makes its own (and locks within itself only)."""

    def __init__(self, workers: int = 1) -> None:
        context = multiprocessing.get_context("spawn")
        self.workers = workers
        self.lock: Any = threading.Lock()
        if workers > 1:
            memory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108 (mkstemp: a private file)
            descriptor, path = tempfile.mkstemp(prefix="grid-service-limits-", dir=memory)
            os.close(descriptor)
            self.lock = FileLock(path)
        self.rate_keys: Any = context.RawArray(ctypes.c_int64, RATE_SLOTS)
        self.rate_full_at: Any = context.RawArray(ctypes.c_double, RATE_SLOTS)  # time.monotonic(): system-wide
        self.held_keys: Any = context.RawArray(ctypes.c_int64, HELD_SLOTS)
        self.held: Any = context.RawArray(ctypes.c_int32, HELD_SLOTS * workers)  # row per worker

    def close(self) -> None:
        """In the parent, once every worker has stopped."""
        if isinstance(self.lock, FileLock):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.lock.path)

    def forget_worker(self, row: int) -> None:
        """In the parent, when a worker died: what it held is released."""
        with self.lock:
            for slot in range(row * HELD_SLOTS, (row + 1) * HELD_SLOTS):
                self.held[slot] = 0


@dataclass(frozen=True, slots=True)
class Rate:
    per_s: float  # 0: unlimited
    burst: int


class Limits:
    """One worker's view of the shared counts."""

    def __init__(self, shared: SharedCounts, row: int, *, token: Rate, address: Rate) -> None:
        self._shared = shared
        self._row = row
        self._token = token
        self._address = address

    def admit_token(self, token_id: int, now: float | None = None) -> None:
        self._admit("token", str(token_id), self._token, now)

    def admit_address(self, address: str, now: float | None = None) -> None:
        self._admit("address", address, self._address, now)

    def _admit(self, kind: str, key: str, rate: Rate, now: float | None) -> None:
        """Count one request of ``key``, or raise 429 saying when the next one would be let in."""
        if rate.per_s <= 0:
            return
        now = time.monotonic() if now is None else now
        interval = 1.0 / rate.per_s
        window = rate.burst * interval  # how far ahead of now the bucket's full instant may run
        wanted = _key_hash(kind, key)
        shared = self._shared
        with shared.lock:
            slot = self._rate_slot(wanted, now)
            full_at = max(shared.rate_full_at[slot], now) + interval
            if full_at - now > window:
                wait = full_at - now - window
                raise TooManyRequests(
                    f"more than {rate.per_s:g} requests a second (bursts of {rate.burst}) from this {kind}; "
                    f"retry after {math.ceil(wait)} s",
                    retry_after_s=max(1, math.ceil(wait)),
                    limit=kind,
                )
            shared.rate_keys[slot] = wanted
            shared.rate_full_at[slot] = full_at

    def _rate_slot(self, wanted: int, now: float) -> int:
        keys, full_at = self._shared.rate_keys, self._shared.rate_full_at
        start = wanted % RATE_SLOTS
        fallback = start
        for probe in range(PROBES):
            slot = (start + probe) % RATE_SLOTS
            if keys[slot] == wanted:
                return slot
            if full_at[slot] < full_at[fallback]:
                fallback = slot
        for probe in range(PROBES):  # not there: the first slot whose bucket is full again is free
            slot = (start + probe) % RATE_SLOTS
            if keys[slot] == 0 or full_at[slot] <= now:
                keys[slot], full_at[slot] = 0, 0.0
                return slot
        keys[fallback], full_at[fallback] = 0, 0.0  # a crowded table: the key nearest to full starts afresh
        return fallback

    @contextlib.contextmanager
    def hold(self, kind: str, token_id: int, cap: int) -> Iterator[None]:
        """One of ``token_id``'s at most ``cap`` open ``kind`` (feeds, long-polls), for the block."""
        wanted = _key_hash(kind, str(token_id))
        shared = self._shared
        with shared.lock:
            slot = self._held_slot(wanted)
            if slot is None or self._held_total(slot) >= cap:
                raise TooManyRequests(
                    f"at most {cap} {kind.replace('_', '-')} open at once per token; close one, or retry later",
                    limit=kind,
                )
            shared.held_keys[slot] = wanted
            shared.held[self._row * HELD_SLOTS + slot] += 1
        try:
            yield
        finally:
            with shared.lock:
                shared.held[self._row * HELD_SLOTS + slot] -= 1

    def _held_total(self, slot: int) -> int:
        return sum(self._shared.held[row * HELD_SLOTS + slot] for row in range(self._shared.workers))

    def _held_slot(self, wanted: int) -> int | None:
        keys = self._shared.held_keys
        start = wanted % HELD_SLOTS
        free = None
        for probe in range(PROBES):
            slot = (start + probe) % HELD_SLOTS
            if keys[slot] == wanted:
                return slot
            if free is None and (keys[slot] == 0 or self._held_total(slot) == 0):
                free = slot
        return free  # None: every slot near it is held by others (a table this full is an attack)

"""Bearer tokens and the role table (SPEC §2). Deny by default."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from grid_service.db import tokens as db_tokens
from grid_service.schemas import Role, Source

TOKEN_PREFIX = "gs_"
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    name: str
    role: Role
    department: str | None
    source: Source | None = None  # a channel token's: every report it sends carries it

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"{self.role.value}:{self.name}"

    def scope(self, requested: str | None = None) -> str | None:
        """The department whose cases this caller reads: a department token always its own (whatever
        it asked for), any other role the one it asked for (None: every department's)."""
        return self.department if self.role is Role.DEPARTMENT else requested


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    # Tokens carry 256 bits of randomness, so a fast unsalted hash is enough to
    # make a leaked table useless while keeping the per-request lookup cheap.
    return hashlib.sha256(token.encode()).digest()


class TimedCache(Generic[V]):
    """Lookups by a secret's digest, each reused for ``ttl_s`` seconds (which bounds how late a
    revocation, a sign-out or a disabled account takes effect in a worker that did not make it);
    bounded, and emptied whole when full."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, V | None]] = {}

    def cached(self, digest: bytes) -> tuple[bool, V | None]:
        """(found and still fresh, the value found)."""
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > time.monotonic():
            return True, entry[1]
        return False, None

    def keep(self, digest: bytes, value: V | None) -> V | None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + self.ttl_s, value)
        return value

    def forget(self, digest: bytes) -> None:
        self._entries.pop(digest, None)


class TokenCache(TimedCache[Principal]):
    """Token lookups (machines' bearer tokens)."""

    async def lookup(self, conn_source: asyncpg.Pool, token: str, timeout: float) -> Principal | None:
        digest = hash_token(token)
        found, principal = self.cached(digest)
        if found:
            return principal
        async with conn_source.acquire(timeout=timeout) as conn:
            row = await db_tokens.find_token(conn, token_hash=digest)
        if row is None:
            return self.keep(digest, None)
        return self.keep(
            digest,
            Principal(row.id, row.name, Role(row.role), row.department, Source(row.source) if row.source else None),
        )

"""Bearer tokens and the role table (SPEC §2). Deny by default."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import asyncpg

from grid_service.db import tokens as db_tokens
from grid_service.schemas import Role, Source

TOKEN_PREFIX = "gs_"


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


class TokenCache:
    """Token lookups, reused for ``ttl_s`` seconds (which bounds how late a revocation takes effect)."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Principal | None]] = {}

    async def lookup(self, conn_source: asyncpg.Pool, token: str, timeout: float) -> Principal | None:
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._entries.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with conn_source.acquire(timeout=timeout) as conn:
            row = await db_tokens.find_token(conn, token_hash=digest)
        principal = (
            Principal(row.id, row.name, Role(row.role), row.department, Source(row.source) if row.source else None)
            if row
            else None
        )
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (now + self.ttl_s, principal)
        return principal

"""Photos, content-addressed by SHA-256."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from grid_service.db.pool import Conn

INSERT_MEDIA = """
INSERT INTO media (sha256, content_type, size, data, uploaded_by) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (sha256) DO NOTHING
RETURNING sha256
"""
SELECT_MEDIA = "SELECT content_type, data FROM media WHERE sha256 = $1"
SELECT_KNOWN = "SELECT sha256 FROM media WHERE sha256 = ANY($1::text[])"


async def store(conn: Conn, *, sha256: str, content_type: str, data: bytes, uploaded_by: str) -> bool:
    """True when stored now, False when these bytes were already there."""
    return await conn.fetchval(INSERT_MEDIA, sha256, content_type, len(data), data, uploaded_by) is not None


async def fetch(conn: Conn, sha256: str) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_MEDIA, sha256)


async def unknown(conn: Conn, hashes: Iterable[str]) -> set[str]:
    """The hashes among ``hashes`` that no upload has stored."""
    wanted = set(hashes)
    if not wanted:
        return set()
    known = {r["sha256"] for r in await conn.fetch(SELECT_KNOWN, list(wanted))}
    return wanted - known

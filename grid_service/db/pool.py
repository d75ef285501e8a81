"""Connection pools and single connections, with the codecs the service relies on."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

# What db functions accept: a plain connection or one borrowed from a pool.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


class ServiceConnection(asyncpg.Connection):
    """Pooled connections carry no session state: locks are transaction-scoped, LISTEN runs on a
    dedicated connection and nothing is SET. So the pool's reset on release (four statements per
    request: unlock all, CLOSE ALL, UNLISTEN *, RESET ALL) is skipped; an open transaction is
    still rolled back by asyncpg."""

    def get_reset_query(self) -> str:
        return ""


JSONB_VERSION = b"\x01"


async def init_connection(conn: asyncpg.Connection) -> None:
    # jsonb both ways through orjson (fast, strict), in PostgreSQL's binary form (a version byte,
    # then the text), so that composite types holding jsonb (intake_item) travel in binary too.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        format="binary",
        encoder=lambda value: JSONB_VERSION + orjson.dumps(value),
        decoder=lambda data: orjson.loads(data[1:]),
    )
    await conn.set_type_codec(
        "json",
        schema="pg_catalog",
        format="text",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
    )


async def create_pool(url: str, *, min_size: int, max_size: int, **kwargs: Any) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        connection_class=ServiceConnection,
        server_settings={"timezone": "UTC", "application_name": "grid-service"},
        **kwargs,
    )
    return pool


async def connect(url: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    await init_connection(conn)
    return conn

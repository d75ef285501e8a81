"""Report bodies and counting helpers for API tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import asyncpg

from tests.images import png

# Points in the fixture grid (tests/fixtures/config/grids/tiny.geojson).
IN_CELL_1 = (126.605, 45.6025)  # 230108001001001
IN_CELL_2 = (126.615, 45.6025)  # 230108001001002
IN_STREET_2 = (126.615, 45.6075)  # 230108002001001
IN_STREET_3 = (126.625, 45.6025)  # 230108003001001: only the everywhere barbecue rule
FAR_AWAY = (126.70, 45.70)


def report(
    category: str = "illegal_construction",
    point: tuple[float, float] = IN_CELL_1,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": extra.pop("client_id", uuid.uuid4().hex),
        "category": category,
        "location": {"type": "Point", "coordinates": list(point)},
    }
    body.update(extra)
    return body


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM reports) AS reports, (SELECT count(*) FROM cases) AS cases,"
        " (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM report_media) AS media"
    )
    return dict(row)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


async def upload_photo(client: Any, token: str, *, first_hex: str | None = None) -> str:
    """Upload a small, real PNG; ``first_hex`` picks one whose SHA-256 starts with that digit. Returns the id."""
    seed = uuid.uuid4().int
    while True:
        data = png(seed=seed)
        if first_hex is None or hashlib.sha256(data).hexdigest().startswith(first_hex):
            break
        seed += 1
    response = await client.post(
        "/api/v1/media", data=data, headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def hold_next_sequence(db_url: str, case_id: str) -> tuple[asyncpg.Connection, Any, int]:
    """A writer that takes the next event sequence number for the case and keeps its transaction
    open (the commit-order trap): (its connection, the open transaction, the number it holds)."""
    writer = await asyncpg.connect(db_url)
    tx = writer.transaction()
    await tx.start()
    seq = await writer.fetchval(
        "INSERT INTO events (case_id, type, at, actor, data) VALUES ($1::uuid, 'case.warning', now(), 'test', '{}')"
        " RETURNING seq",
        case_id,
    )
    return writer, tx, seq


async def followed(client: Any, holds: Any, seconds: float = 10.0) -> None:
    """Until the worker's configuration satisfies ``holds(snapshot)``: its follower has read what was
    stored (waited for, never slept through a guessed time)."""
    import asyncio
    import time

    from grid_service import keys

    deadline = time.monotonic() + seconds
    while not holds(client.server.app[keys.CONFIG].current):
        assert time.monotonic() < deadline, "the worker did not follow within the time"
        await asyncio.sleep(0.02)

"""Report bodies and counting helpers for API tests."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

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

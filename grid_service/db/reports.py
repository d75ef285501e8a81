"""Reports: the one-round-trip intake call (see sql/migrations/0002_intake_function.sql)."""

from __future__ import annotations

from typing import Any

import asyncpg

INTAKE_BATCH = "SELECT ord, outcome FROM intake_batch($1::jsonb, $2::bigint[])"
SELECT_CASE_REPORTS = """
SELECT r.id, r.client_id, t.name AS inspector, r.duplicate, r.category, r.lon, r.lat, r.crs, r.accuracy_m,
       r.urgent, r.description, r.address, r.observed_at, r.received_at,
       coalesce(array_agg(m.sha256 ORDER BY m.position) FILTER (WHERE m.sha256 IS NOT NULL), '{}') AS media
  FROM reports r
  JOIN api_tokens t ON t.id = r.token_id
  LEFT JOIN report_media m ON m.report_id = r.id
 WHERE r.case_id = $1
 GROUP BY r.id, t.name
 ORDER BY r.received_at, r.id
"""


async def intake(conn: asyncpg.Connection, items: list[dict[str, Any]], lock_keys: list[int]) -> list[dict[str, Any]]:
    """Run the intake of ``items`` in one transaction; one outcome per item, in order."""
    rows = await conn.fetch(INTAKE_BATCH, items, lock_keys)
    outcomes: list[dict[str, Any]] = [row["outcome"] for row in sorted(rows, key=lambda row: row["ord"])]
    return outcomes


async def reports_of_case(conn: asyncpg.Connection, case_id: Any) -> list[asyncpg.Record]:
    return await conn.fetch(SELECT_CASE_REPORTS, case_id)

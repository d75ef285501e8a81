"""Reports: the one-round-trip intake call (see db/sql/functions/intake_batch.sql)."""

from __future__ import annotations

from typing import Any

import asyncpg

from grid_service.db.pool import Conn

# The fields of a report as intake_batch takes them, in order, with their types. Reports travel
# to intake_batch as one array per field (binary, typed), photos as two parallel arrays.
INTAKE_FIELDS: tuple[tuple[str, str], ...] = (
    ("at", "timestamptz"),
    ("report_id", "uuid"),
    ("case_id", "uuid"),
    ("token_id", "integer"),
    ("actor", "text"),
    ("client_id", "text"),
    ("body_hash", "text"),
    ("category", "text"),
    ("lon", "float8"),
    ("lat", "float8"),
    ("crs", "text"),
    ("input_lon", "float8"),
    ("input_lat", "float8"),
    ("accuracy_m", "float8"),
    ("urgent", "boolean"),
    ("description", "text"),
    ("address", "text"),
    ("media_url", "text"),
    ("observed_at", "timestamptz"),
    ("timezone", "text"),
    ("status", "text"),
    ("pending_reason", "text"),
    ("grid_version", "integer"),
    ("grid_code", "text"),
    ("grid_name", "text"),
    ("department", "text"),
    ("department_name", "text"),
    ("routing_rule_id", "integer"),
    ("routing_rule", "jsonb"),
    ("deadline_at", "timestamptz"),
    ("warn_at", "timestamptz"),
    ("duplicate_radius_m", "float8"),
    ("duplicate_window_hours", "float8"),
)
_FIELD_COUNT = len(INTAKE_FIELDS)
# Built once from the constant above: placeholders and type names only, never values.
INTAKE_BATCH = (
    "SELECT ord, outcome FROM intake_batch("
    + ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(INTAKE_FIELDS, start=1))
    + f", ${_FIELD_COUNT + 1}::boolean[], ${_FIELD_COUNT + 2}::integer[], ${_FIELD_COUNT + 3}::text[],"
    + f" ${_FIELD_COUNT + 4}::bigint[])"
)
SELECT_CASE_REPORTS = """
SELECT r.id, r.client_id, t.name AS inspector, r.duplicate, r.category, r.lon, r.lat, r.crs, r.accuracy_m,
       r.urgent, r.description, r.address, r.media_url, r.observed_at, r.received_at,
       coalesce(array_agg(m.sha256 ORDER BY m.position) FILTER (WHERE m.sha256 IS NOT NULL), '{}') AS media
  FROM reports r
  JOIN api_tokens t ON t.id = r.token_id
  LEFT JOIN report_media m ON m.report_id = r.id
 WHERE r.case_id = $1
 GROUP BY r.id, t.name
 ORDER BY r.received_at, r.id
"""


async def intake(
    conn: Conn, items: list[dict[str, Any]], independent: list[bool], lock_keys: list[int]
) -> list[dict[str, Any]]:
    """Run the intake of ``items`` in one transaction; one outcome per item, in order."""
    columns = [[item[name] for item in items] for name, _ in INTAKE_FIELDS]
    media_item = [position for position, item in enumerate(items, start=1) for _ in item["media"]]
    media_sha = [sha for item in items for sha in item["media"]]
    rows = await conn.fetch(INTAKE_BATCH, *columns, independent, media_item, media_sha, lock_keys)
    outcomes: list[dict[str, Any]] = [row["outcome"] for row in sorted(rows, key=lambda row: row["ord"])]
    return outcomes


async def reports_of_case(conn: Conn, case_id: Any) -> list[asyncpg.Record]:
    return await conn.fetch(SELECT_CASE_REPORTS, case_id)

"""Reports: the one-round-trip intake call (db/sql/functions/intake_batch.sql) and a case's reports."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

import asyncpg

from grid_service.db.pool import Conn

DEADLOCK_RETRIES = 3


class IntakeItem(NamedTuple):
    """One report as intake writes it: the composite type ``intake_item`` of the SQL function, field
    for field in the same order (tests/db compares the two). A tuple, so asyncpg sends it as that
    record in binary with nothing to convert."""

    at: dt.datetime
    report_id: uuid.UUID
    case_id: uuid.UUID  # used when the report opens a case
    token_id: int
    actor: str
    client_id: str
    body_hash: bytes  # SHA-256 of the normalised body: a retry with the same content is a replay
    category: str
    lon: float | None
    lat: float | None
    crs: str
    input_lon: float | None
    input_lat: float | None
    accuracy_m: float | None
    urgent: bool
    description: str | None
    address: str | None
    media_url: str | None
    observed_at: dt.datetime | None
    timezone: str
    status: str
    pending_reason: str | None
    grid_version: int | None
    grid_code: str | None
    grid_name: str | None
    department: str | None
    department_name: str | None
    routing_rule_id: int | None
    routing_rule: dict[str, Any] | None
    deadline_at: dt.datetime | None
    warn_at: dt.datetime | None
    duplicate_radius_m: float
    duplicate_window_hours: float
    source: str  # Source: where the report came from (the case keeps its first report's)
    condition: str | None  # the filing standard's condition auto filing took
    check_task_id: uuid.UUID | None  # a check (核实) sent before anyone files it (filing.toml check_first)
    check_assigned_to: str | None
    check_audience: str | None  # db/tasks.audience of the assignee
    check_due_at: dt.datetime | None
    resolution: str | None  # self_handled: created closed (自处置)
    after_media: list[str]  # a self-handled report's after photos (also among its media, last)
    accept_due_at: dt.datetime | None  # dispatched: its sign-for limit (disputes.toml acceptance_hours)


@dataclass(frozen=True, slots=True)
class PreparedReport:
    item: IntakeItem
    media: tuple[str, ...]  # photo hashes, in order
    lock_keys: tuple[int, ...]  # advisory locks: its idempotency key and the duplicate-search tiles


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int  # 201 created, 200 replay of an earlier identical submission, 409 conflicting retry
    response: dict[str, Any] | None  # the acknowledgement as stored (None for a conflict)


SELECT_STORED = "SELECT body_hash, response FROM reports WHERE token_id = $1 AND client_id = $2"


@dataclass(frozen=True, slots=True)
class StoredReport:
    body_hash: bytes
    response: dict[str, Any]


async def stored_report(conn: Conn, *, token_id: int, client_id: str) -> StoredReport | None:
    row = await conn.fetchrow(SELECT_STORED, token_id, client_id)
    return StoredReport(bytes(row["body_hash"]), row["response"]) if row else None


SELECT_STORED_MANY = "SELECT client_id, body_hash, response FROM reports WHERE token_id = $1 AND client_id = ANY($2)"


async def stored_reports(conn: Conn, *, token_id: int, client_ids: list[str]) -> dict[str, StoredReport]:
    """The stored reports among ``client_ids`` of one token, by client_id (one index read)."""
    if not client_ids:
        return {}
    rows = await conn.fetch(SELECT_STORED_MANY, token_id, client_ids)
    return {row["client_id"]: StoredReport(bytes(row["body_hash"]), row["response"]) for row in rows}


INTAKE_BATCH = "SELECT ord, outcome FROM intake_batch($1::intake_item[], $2::boolean[], $3::integer[], $4::text[], $5)"
OUTCOME_CODES = {"created": 201, "replay": 200, "conflict": 409}
# Each photo with where and when its uploader's phone says it was taken (photo_captures).
SELECT_CASE_REPORTS = """
SELECT r.id, r.client_id, t.name AS inspector, r.duplicate, r.category, r.lon, r.lat, r.crs, r.accuracy_m,
       r.urgent, r.description, r.address, r.media_url, r.observed_at, r.received_at,
       coalesce(array_agg(m.sha256 ORDER BY m.position) FILTER (WHERE m.sha256 IS NOT NULL), '{}') AS media,
       r.source,
       coalesce(jsonb_agg(jsonb_build_object('id', m.sha256, 'lon', pc.lon, 'lat', pc.lat,
                                             'accuracy_m', pc.accuracy_m, 'taken_at', pc.taken_at,
                                             'received_at', pc.received_at) ORDER BY m.position)
                    FILTER (WHERE m.sha256 IS NOT NULL), '[]') AS photos
  FROM reports r
  JOIN api_tokens t ON t.id = r.token_id
  LEFT JOIN report_media m ON m.report_id = r.id
  LEFT JOIN photo_captures pc ON pc.sha256 = m.sha256 AND pc.uploaded_by = t.role || ':' || t.name
 WHERE r.case_id = $1
 GROUP BY r.id, t.name
 ORDER BY r.received_at, r.id
"""


async def intake(pool: asyncpg.Pool, prepared: list[PreparedReport], *, timeout: float) -> list[Outcome]:
    """Store prepared reports in one transaction; one outcome per report, in order."""
    items = [p.item for p in prepared]
    media_item = [position for position, p in enumerate(prepared, start=1) for _ in p.media]
    media_sha = [sha for p in prepared for sha in p.media]
    keys = [k for p in prepared for k in p.lock_keys]
    independent = independence(prepared)
    for attempt in range(DEADLOCK_RETRIES):
        try:
            async with pool.acquire(timeout=timeout) as conn:
                rows = await conn.fetch(INTAKE_BATCH, items, independent, media_item, media_sha, keys)
            break
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            # Two batches of one inspector overlapping on a client_id may deadlock on the unique
            # index; the whole call is safe to repeat.
            if attempt == DEADLOCK_RETRIES - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    by_position = sorted(rows, key=lambda row: row["ord"])
    return [Outcome(OUTCOME_CODES[r["outcome"]["outcome"]], r["outcome"]["response"]) for r in by_position]


def independence(prepared: list[PreparedReport]) -> list[bool]:
    """For each report, whether it shares no lock key with an earlier report of the list.

    Sharing no key means no earlier report can be its retry (same client_id) or its duplicate
    (within the radius), so the database may write it together with the others instead of one by one.
    """
    seen: set[int] = set()
    flags = []
    for p in prepared:
        flags.append(seen.isdisjoint(p.lock_keys))
        seen.update(p.lock_keys)
    return flags

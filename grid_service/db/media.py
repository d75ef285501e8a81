"""Photos, content-addressed by SHA-256, and who may see them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from grid_service.db.pool import Conn

INSERT_MEDIA = """
INSERT INTO media (sha256, content_type, size, data, uploaded_by) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (sha256) DO NOTHING
RETURNING sha256
"""
# A photo with what decides who sees it: whether a case that refers to it (through a report or an
# action) belongs to the given department ($2; NULL: any case).
SELECT_MEDIA = """
WITH showing AS (
    SELECT r.case_id FROM report_media rm JOIN reports r ON r.id = rm.report_id WHERE rm.sha256 = $1
    UNION
    SELECT case_id FROM case_media WHERE sha256 = $1
)
SELECT m.content_type, m.data, m.uploaded_by,
       EXISTS (SELECT 1 FROM showing s JOIN cases c ON c.id = s.case_id
                WHERE $2::text IS NULL OR c.department = $2) AS on_visible_case
  FROM media m
 WHERE m.sha256 = $1
"""
INSERT_CAPTURE = """
INSERT INTO photo_captures (sha256, uploaded_by, lon, lat, accuracy_m, taken_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (sha256, uploaded_by) DO NOTHING
"""
SELECT_KNOWN = "SELECT sha256 FROM media WHERE sha256 = ANY($1::text[])"
ATTACH_TO_CASE = """
INSERT INTO case_media (case_id, sha256, seq) SELECT $1, sha, $3 FROM unnest($2::text[]) AS sha
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class Photo:
    content_type: str
    data: bytes
    uploaded_by: str
    on_visible_case: bool  # a case that the asking department (or anyone, without one) may see shows it


@dataclass(frozen=True, slots=True)
class Capture:
    """Where and when the uploader's phone says the photo was taken (all optional)."""

    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    taken_at: dt.datetime | None = None


async def store(
    conn: Conn, *, sha256: str, content_type: str, data: bytes, uploaded_by: str, capture: Capture = Capture()
) -> bool:
    """True when stored now, False when these bytes were already there; the uploader's capture is
    recorded with it (the first one, if they send the same bytes again)."""
    async with conn.transaction():
        created = await conn.fetchval(INSERT_MEDIA, sha256, content_type, len(data), data, uploaded_by) is not None
        await conn.execute(
            INSERT_CAPTURE, sha256, uploaded_by, capture.lon, capture.lat, capture.accuracy_m, capture.taken_at
        )
    return created


async def fetch(conn: Conn, sha256: str, *, department: str | None) -> Photo | None:
    row = await conn.fetchrow(SELECT_MEDIA, sha256, department)
    if row is None:
        return None
    return Photo(row["content_type"], row["data"], row["uploaded_by"], row["on_visible_case"])


async def unknown(conn: Conn, hashes: Iterable[str]) -> set[str]:
    """The hashes among ``hashes`` that no upload has stored."""
    wanted = set(hashes)
    if not wanted:
        return set()
    known = {r["sha256"] for r in await conn.fetch(SELECT_KNOWN, list(wanted))}
    return wanted - known


async def attach_to_case(conn: Conn, case_id: uuid.UUID, hashes: list[str], *, seq: int) -> None:
    """Record that the event ``seq`` showed these photos on the case (so the case's readers see them)."""
    if hashes:
        await conn.execute(ATTACH_TO_CASE, case_id, hashes, seq)

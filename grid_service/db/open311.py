"""Reads for the Open311 façade: cases as service requests, and a report's earlier acknowledgement."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from grid_service.db.pool import Conn
from grid_service.db.rows import ServiceRequestRow, many

# A case with what a service request shows: its first report's words and link, and the reply the
# city published (never the staff's notes, never a photo's hash).
SERVICE_REQUEST = """
SELECT c.case_no, c.status, c.pending_reason, c.category, k.name AS category_name, c.lon, c.lat, c.grid_code,
       d.name AS department_name, c.created_at, c.updated_at, c.deadline_at,
       r.description, r.address, r.media_url, c.public_reply, c.source,
       (SELECT t.kind FROM tasks t WHERE t.case_id = c.id AND t.status = 'open'
         ORDER BY t.created_at LIMIT 1) AS open_check
  FROM cases c
  JOIN categories k ON k.code = c.category
  LEFT JOIN departments d ON d.code = c.department
  LEFT JOIN LATERAL (SELECT id, description, address, media_url FROM reports
                      WHERE case_id = c.id ORDER BY received_at, id LIMIT 1) AS r ON true
"""
BY_NUMBER = SERVICE_REQUEST + " WHERE c.case_no = ANY($1::text[])"
# Statuses as Open311 counts them: closed means finished (closed, cancelled, voided), open anything else.
IN_PERIOD = (
    SERVICE_REQUEST
    + """
 WHERE c.created_at >= $1 AND c.created_at <= $2
   AND ($3::text[] IS NULL OR c.category = ANY($3))
   AND ($4::boolean IS NULL OR (c.status IN ('closed', 'cancelled', 'voided')) = $4)
 ORDER BY c.created_at DESC, c.id DESC
 LIMIT $5
"""
)
EARLIER_ANSWER = "SELECT response FROM reports WHERE token_id = $1 AND client_id = $2 AND received_at >= $3"
CONFIGURATION_LOADED = "SELECT loaded_at FROM config_state"
REPORT_CASE = "SELECT c.case_no FROM reports r JOIN cases c ON c.id = r.case_id WHERE r.id = $1"


async def by_number(conn: Conn, case_numbers: list[str]) -> list[ServiceRequestRow]:
    """The cases with these numbers, in the order asked (unknown numbers are left out)."""
    rows = {row.case_no: row for row in many(ServiceRequestRow, await conn.fetch(BY_NUMBER, case_numbers))}
    return [rows[number] for number in dict.fromkeys(case_numbers) if number in rows]


async def in_period(
    conn: Conn,
    *,
    start: dt.datetime,
    end: dt.datetime,
    categories: list[str] | None,
    closed: bool | None,
    limit: int,
) -> list[ServiceRequestRow]:
    """Cases reported between ``start`` and ``end`` (inclusive), newest first."""
    return many(ServiceRequestRow, await conn.fetch(IN_PERIOD, start, end, categories, closed, limit))


async def earlier_answer(conn: Conn, token_id: int, client_id: str, since: dt.datetime) -> dict[str, Any] | None:
    """The acknowledgement of a report this token stored under ``client_id`` since ``since``."""
    answer: dict[str, Any] | None = await conn.fetchval(EARLIER_ANSWER, token_id, client_id, since)
    return answer


async def case_of_report(conn: Conn, report_id: uuid.UUID) -> str | None:
    case_no: str | None = await conn.fetchval(REPORT_CASE, report_id)
    return case_no


async def configuration_loaded_at(conn: Conn) -> dt.datetime | None:
    """When the configuration (and so the list of services) last changed."""
    loaded: dt.datetime | None = await conn.fetchval(CONFIGURATION_LOADED)
    return loaded

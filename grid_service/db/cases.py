"""Cases and their event history."""

from __future__ import annotations

import uuid

import asyncpg

from grid_service.db.pool import Conn

SELECT_CASE = """
SELECT c.id, c.case_no, c.status, c.pending_reason, c.category, k.name AS category_name, c.urgent,
       c.lon, c.lat, c.grid_version, c.grid_code, g.name AS grid_name, c.department, d.name AS department_name,
       c.routing_rule, c.created_at, c.dispatched_at, c.deadline_at, c.rework_count, c.report_count,
       c.updated_at
  FROM cases c
  JOIN categories k ON k.code = c.category
  LEFT JOIN grid_cells g ON g.version = c.grid_version AND g.code = c.grid_code
  LEFT JOIN departments d ON d.code = c.department
 WHERE c.id = $1
"""
SELECT_EVENTS = "SELECT seq, type, at, actor, note, data FROM events WHERE case_id = $1 ORDER BY seq"


async def get_case(conn: Conn, case_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_CASE, case_id)


async def case_events(conn: Conn, case_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(SELECT_EVENTS, case_id)

"""GET /api/v1/cases/{id}: a case with its reports and history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
from aiohttp import web

from grid_service import keys
from grid_service.auth import Principal
from grid_service.db import cases as db_cases
from grid_service.db import reports as db_reports
from grid_service.domain.deadlines import Clock
from grid_service.domain.lights import is_overdue, light
from grid_service.errors import NotFound
from grid_service.handlers.common import json_response, principal
from grid_service.schemas import CaseStatus, Role
from grid_service.snapshot import ConfigSnapshot


def _iso(value: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def visible_to(caller: Principal, department: str | None) -> bool:
    """A department token sees only its own department's cases; other roles see all."""
    return caller.role is not Role.DEPARTMENT or caller.department == department


def present_case(
    row: asyncpg.Record,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    reports: list[asyncpg.Record] | None = None,
    events: list[asyncpg.Record] | None = None,
) -> dict[str, Any]:
    tz = snapshot.calendar.timezone
    status = CaseStatus(row["status"])
    category = snapshot.categories.get(row["category"])
    clock = category.clock if category else Clock.NATURAL
    case: dict[str, Any] = {
        "id": str(row["id"]),
        "case_no": row["case_no"],
        "status": status.value,
        "pending_reason": row["pending_reason"],
        "category": {"code": row["category"], "name": row["category_name"]},
        "urgent": row["urgent"],
        "location": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "grid": {"code": row["grid_code"], "name": row["grid_name"]} if row["grid_code"] else None,
        "department": ({"code": row["department"], "name": row["department_name"]} if row["department"] else None),
        "routing_rule": row["routing_rule"],
        "created_at": _iso(row["created_at"], tz),
        "dispatched_at": _iso(row["dispatched_at"], tz),
        "deadline_at": _iso(row["deadline_at"], tz),
        "light": light(
            status=status,
            dispatched_at=row["dispatched_at"],
            deadline_at=row["deadline_at"],
            now=now,
            clock=clock,
            calendar=snapshot.calendar,
        ),
        "overdue": is_overdue(status=status, deadline_at=row["deadline_at"], now=now),
        "rework_count": row["rework_count"],
        "report_count": row["report_count"],
        "updated_at": _iso(row["updated_at"], tz),
    }
    if reports is not None:
        case["reports"] = [
            {
                "id": str(r["id"]),
                "client_id": r["client_id"],
                "inspector": r["inspector"],
                "duplicate": r["duplicate"],
                "location": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "crs": r["crs"],
                "accuracy_m": r["accuracy_m"],
                "urgent": r["urgent"],
                "description": r["description"],
                "address": r["address"],
                "media": list(r["media"]),
                "observed_at": _iso(r["observed_at"], tz),
                "received_at": _iso(r["received_at"], tz),
            }
            for r in reports
        ]
    if events is not None:
        case["history"] = [
            {
                "seq": e["seq"],
                "type": e["type"],
                "at": _iso(e["at"], tz),
                "actor": e["actor"],
                "note": e["note"],
                "data": e["data"],
            }
            for e in events
        ]
    return case


async def get_case(request: web.Request) -> web.Response:
    try:
        case_id = uuid.UUID(request.match_info["case_id"])
    except ValueError as exc:
        raise NotFound("no such case") from exc
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.POOL].acquire(timeout=settings.db_timeout_s) as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            row = await db_cases.get_case(conn, case_id)
            if row is None or not visible_to(principal(request), row["department"]):
                raise NotFound("no such case")
            reports = await db_reports.reports_of_case(conn, case_id)
            events = await db_cases.case_events(conn, case_id)
    snapshot = request.app[keys.CONFIG].current
    return json_response(present_case(row, snapshot, request.app[keys.CLOCK](), reports, events))

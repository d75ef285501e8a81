"""GET /api/v1/cases/{id}: a case with its reports and history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from grid_service import keys
from grid_service.db import cases as db_cases
from grid_service.db import reports as db_reports
from grid_service.domain.deadlines import Clock
from grid_service.domain.lights import is_overdue, light
from grid_service.domain.states import Action
from grid_service.errors import NotFound, ValidationFailed, field_error
from grid_service.flows import casework
from grid_service.handlers.common import (
    json_response,
    principal,
    read_optional_json,
    validate,
    validate_query,
)
from grid_service.schemas import CaseListQuery, CaseStatus, Role
from grid_service.snapshot import ConfigSnapshot


def _iso(value: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


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


def _case_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["case_id"])
    except ValueError as exc:
        raise NotFound("no such case") from exc


async def get_case(request: web.Request) -> web.Response:
    return json_response(await _read_case(request, _case_id(request)))


async def _read_case(request: web.Request, case_id: uuid.UUID, *, after_action: bool = False) -> dict[str, Any]:
    """The case as the caller may see it. After an action the caller sees the result even when the
    action took the case out of its hands (a department rejecting it)."""
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.POOL].acquire(timeout=settings.db_timeout_s) as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            row = await db_cases.get_case(conn, case_id)
            if row is None or not (after_action or casework.visible_to(principal(request), row["department"])):
                raise NotFound("no such case")
            reports = await db_reports.reports_of_case(conn, case_id)
            events = await db_cases.case_events(conn, case_id)
    snapshot = request.app[keys.CONFIG].current
    return present_case(row, snapshot, request.app[keys.CLOCK](), reports, events)


def action_handler(action: Action, body_model: type[BaseModel]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/v1/cases/{case_id}/<action>: apply it, answer with the updated case."""

    async def handle(request: web.Request) -> web.Response:
        case_id = _case_id(request)
        body = validate(body_model, await read_optional_json(request))
        await casework.act(
            request.app[keys.POOL],
            case_id=case_id,
            action=action,
            caller=principal(request),
            body=body,
            snapshot=request.app[keys.CONFIG].current,
            now=request.app[keys.CLOCK](),
            timeout=request.app[keys.SETTINGS].db_timeout_s,
        )
        request.app[keys.NOTIFIER].published()
        return json_response(await _read_case(request, case_id, after_action=True))

    handle.__name__ = f"case_{action.value}"
    return handle


async def list_cases(request: web.Request) -> web.Response:
    query = validate_query(CaseListQuery, request)
    caller = principal(request)
    now = request.app[keys.CLOCK]()
    unknown = [s for s in (query.status or "").split(",") if s and s not in CaseStatus.__members__.values()]
    if unknown:
        raise ValidationFailed("unknown status", details=[field_error(["status"], f"unknown status {unknown[0]!r}")])
    try:
        filters = db_cases.CaseFilter.from_query(query, now=now)
    except ValueError as exc:
        raise ValidationFailed(
            "invalid cursor", details=[field_error(["after"], "not a cursor from this service")]
        ) from exc
    if caller.role is Role.DEPARTMENT:
        filters = dataclasses.replace(filters, department=caller.department)
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.POOL].acquire(timeout=settings.db_timeout_s) as conn:
        rows = await db_cases.list_cases(conn, filters, limit=query.limit + 1)
    snapshot = request.app[keys.CONFIG].current
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return json_response(
        {
            "cases": [present_case(r, snapshot, now) for r in page],
            "next": db_cases.encode_cursor(page[-1]["id"]) if more and page else None,
        }
    )

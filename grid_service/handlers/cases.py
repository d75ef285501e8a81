"""GET /api/v1/cases/{id}: a case with its reports and history."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from grid_service import keys
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import case_read as db_case_read
from grid_service.db import cases as db_cases
from grid_service.db.case_read import WholeCase
from grid_service.domain import routing
from grid_service.domain.states import OPEN, Action
from grid_service.errors import NotFound, ValidationFailed, field_error, invalid_cursor
from grid_service.flows import casework
from grid_service.handlers.common import (
    connection,
    json_response,
    principal,
    read_connection,
    read_optional_json,
    validate,
    validate_query,
)
from grid_service.presenters import present_case, present_check
from grid_service.schemas import CaseListQuery, CaseStatus


def _case_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["case_id"])
    except ValueError as exc:
        raise NotFound("no such case") from exc


async def get_case(request: web.Request) -> web.Response:
    return json_response(await _read_case(request, _case_id(request)))


async def _read_case(request: web.Request, case_id: uuid.UUID) -> dict[str, Any]:
    """The case as the caller may see it (one statement: one snapshot, no transaction needed)."""
    async with connection(request) as conn:
        whole = await db_case_read.whole_case_or_raise(conn, case_id)
    if not casework.visible_to(principal(request), whole.case.department):
        raise NotFound("no such case")
    return _present_whole(request, whole)


def _present_whole(request: web.Request, whole: WholeCase) -> dict[str, Any]:
    snapshot = request.app[keys.CONFIG].current
    case = present_case(whole.case, snapshot, request.app[keys.CLOCK](), whole.reports, whole.events)
    tz = snapshot.calendar.timezone
    now = request.app[keys.CLOCK]()
    case["checks"] = [present_check(t, snapshot.labels, tz, now) for t in whole.checks]
    case["candidates"] = _candidates(snapshot, whole.case.category, whole.case.grid_code)
    return case


def _candidates(snapshot: ConfigSnapshot, category: str, grid_code: str | None) -> list[dict[str, str]]:
    departments = snapshot.departments
    return [
        {"code": code, "name": departments[code].name if code in departments else code}
        for code in routing.candidates(snapshot.rules, category, grid_code)
    ]


def action_handler(action: Action, body_model: type[BaseModel]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/v1/cases/{case_id}/<action>: apply it, answer with the updated case."""

    async def handle(request: web.Request) -> web.Response:
        case_id = _case_id(request)
        body = validate(body_model, await read_optional_json(request))
        # The caller sees the result even when the action took the case out of its hands (a
        # department rejecting it).
        after = await casework.act(
            request.app[keys.POOL],
            request.app[keys.CASEWORK],
            case_id=case_id,
            action=action,
            caller=principal(request),
            body=body,
            snapshot=request.app[keys.CONFIG].current,
            now=request.app[keys.CLOCK](),
            timeout=request.app[keys.SETTINGS].db_timeout_s,
            on_commit=request.app[keys.NOTIFIER].published,
        )
        return json_response(_present_whole(request, after))

    handle.__name__ = f"case_{action.value.replace('/', '_')}"
    return handle


async def list_cases(request: web.Request) -> web.Response:
    query = validate_query(CaseListQuery, request)
    caller = principal(request)
    now = request.app[keys.CLOCK]()
    # "open" stands for every open status, as the map and Open311 read it.
    asked = [s for s in (query.status or "").split(",") if s]
    statuses = sorted({o.value for o in OPEN} | {s for s in asked if s != "open"}) if "open" in asked else asked
    unknown = [s for s in statuses if s not in CaseStatus.__members__.values()]
    if unknown:
        raise ValidationFailed("unknown status", details=[field_error(["status"], f"unknown status {unknown[0]!r}")])
    try:
        before_id = db_cases.decode_cursor(query.after) if query.after else None
    except ValueError as exc:
        raise invalid_cursor() from exc
    snapshot = request.app[keys.CONFIG].current
    filters = db_cases.CaseFilter.from_query(
        query,
        now=now,
        statuses=statuses or None,
        before_id=before_id,
        timezone=snapshot.calendar.timezone,
        step_minutes=snapshot.filing.steps.minutes,
    )
    filters = dataclasses.replace(filters, department=caller.scope(filters.department))
    async with read_connection(request) as conn:  # a list may be a little behind (db/replicas.py)
        rows = await db_cases.list_cases(conn, filters, limit=query.limit + 1)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return json_response(
        {
            "cases": [
                present_case(r, snapshot, now) | {"candidates": _candidates(snapshot, r.category, r.grid_code)}
                for r in page
            ],
            "next": db_cases.encode_cursor(page[-1].id) if more and page else None,
        }
    )

"""GET /api/v1/reports/monthly: the month's bulletin (月度通报) as JSON, a spreadsheet or a document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from grid_service import keys
from grid_service.bulletin import SOURCES, Month, assemble, document, spreadsheet
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import bulletin as db_bulletin
from grid_service.errors import ValidationFailed, field_error
from grid_service.handlers.common import json_response, principal, read_connection, validate_query
from grid_service.handlers.stats import street_names
from grid_service.schemas.bulletin import MonthlyQuery

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DISTRICT = "平房区"


async def monthly(request: web.Request) -> web.Response:
    query = validate_query(MonthlyQuery, request)
    snapshot = request.app[keys.CONFIG].current
    year, number = (int(part) for part in query.month.split("-"))
    month = Month(year, number, snapshot.calendar.timezone)
    if month.start() > request.app[keys.CLOCK]():
        message = "a bulletin is for a month that has begun"
        raise ValidationFailed(message, details=[field_error(["month"], message, "month_in_future")])
    heavy = request.app[keys.HEAVY_READS]
    async with (
        heavy.slot(principal(request).token_id),
        heavy.turn(),
        read_connection(request) as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),  # one snapshot for every table
    ):
        await conn.execute("SET LOCAL jit = off")  # as for db/stats.py: compiling costs more than running
        start, end = month.start(), month.end()
        groups = await db_bulletin.cohort_groups(conn, start=start, end=end)
        filed = (
            await db_bulletin.filed_by_category(conn, start=start, end=end),
            await db_bulletin.filed_by_category(conn, start=month.start(1), end=month.end(1)),
            await db_bulletin.filed_by_category(conn, start=month.start(12), end=month.end(12)),
        )
        others = await db_bulletin.others(conn, start=start, end=end)
    bulletin = assemble(month, groups, _names(snapshot), filed, others, snapshot.evaluation, DISTRICT)
    accept = request.headers.get("Accept", "")
    name = f"monthly-{month.label}"
    if XLSX in accept:
        return _attachment(spreadsheet(bulletin), XLSX, f"{name}.xlsx")
    if DOCX in accept:
        return _attachment(document(bulletin), DOCX, f"{name}.docx")
    return json_response(bulletin)


def _names(snapshot: ConfigSnapshot) -> dict[str, dict[str, str]]:
    return {
        "source": dict(SOURCES),
        "department": {code: d.name for code, d in snapshot.departments.items()},
        "street": street_names(snapshot),
        "category": {code: c.name for code, c in snapshot.categories.items()},
    }


def _attachment(body: bytes, content_type: str, filename: str) -> web.Response:
    headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return web.Response(body=body, content_type=content_type, headers=headers)

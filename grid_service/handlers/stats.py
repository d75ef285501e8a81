"""GET /api/v1/stats: performance by department, category, street or cell, as JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from aiohttp import web

from grid_service import keys
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import stats as db_stats
from grid_service.errors import ValidationFailed, field_error
from grid_service.handlers.common import connection, json_response, principal, validate_query
from grid_service.schemas import StatsGroup, StatsQuery

DEFAULT_PERIOD = dt.timedelta(days=30)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FIELDS = list(StatsGroup.model_fields)


def _instant(value: dt.datetime | dt.date, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), tzinfo=tz)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _street_names(snapshot: ConfigSnapshot) -> dict[str, str]:
    """A street's name: what the names of its cells have in common (e.g. 平房区第02片区)."""
    names: dict[str, list[str]] = {}
    for cell in snapshot.grid.cells:
        names.setdefault(cell.code[:9], []).append(cell.name)
    return {street: _common_start(cells).rstrip("第") or street for street, cells in names.items()}


def _common_start(texts: list[str]) -> str:
    shortest, longest = min(texts), max(texts)  # the two that differ soonest
    end = next((i for i, (a, b) in enumerate(zip(shortest, longest, strict=False)) if a != b), len(shortest))
    return shortest[:end]


def _name(group_by: str, key: str | None, snapshot: ConfigSnapshot, streets: dict[str, str]) -> str | None:
    if key is None:
        return None
    if group_by == "department":
        department = snapshot.departments.get(key)
        return department.name if department else key
    if group_by == "category":
        category = snapshot.categories.get(key)
        return category.name if category else key
    if group_by == "street":
        return streets.get(key, key)
    cell = snapshot.grid.get(key)
    return cell.name if cell else key


async def stats(request: web.Request) -> web.StreamResponse:
    query = validate_query(StatsQuery, request)
    snapshot = request.app[keys.CONFIG].current
    tz = snapshot.calendar.timezone
    end = _instant(query.end, tz) if query.end else request.app[keys.CLOCK]()
    start = _instant(query.start, tz) if query.start else end - DEFAULT_PERIOD
    if start >= end:
        raise ValidationFailed("the period is empty", details=[field_error(["from"], "must be before to")])
    if start < EARLIEST:  # before 1970 time zones carried odd offsets (+08:05:43) that no client expects
        raise ValidationFailed("the period starts too early", details=[field_error(["from"], "must be after 1970")])
    heavy = request.app[keys.HEAVY_READS]
    async with (
        heavy.slot(principal(request).token_id),
        heavy.turn(),
        connection(request) as conn,
    ):
        rows = await db_stats.figures(conn, start=start, end=end, group_by=query.group_by)
    streets = _street_names(snapshot) if query.group_by == "street" else {}
    groups: list[dict[str, Any]] = [
        {
            "key": r.key,
            "name": _name(query.group_by, r.key, snapshot, streets),
            "reported": r.reported,
            "dispatched": r.dispatched,
            "closed": r.closed,
            "closed_on_time": r.closed_on_time,
            "due": r.due,
            "overdue_open": r.overdue_open,
            "rejected": r.rejected,
            "reworked": r.reworked,
            "closure_rate": _rate(r.closed, r.due),
            "on_time_rate": _rate(r.closed_on_time, r.due),
            "rework_rate": _rate(r.reworked, r.closed),
            "median_hours_to_close": (
                round(r.median_hours_to_close, 2) if r.median_hours_to_close is not None else None
            ),
        }
        for r in rows
    ]
    if "text/csv" in request.headers.get("Accept", ""):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(groups)
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="stats-{query.group_by}.csv"'},
        )
    answer = {
        "from": start.astimezone(tz).isoformat(),
        "to": end.astimezone(tz).isoformat(),
        "group_by": query.group_by,
        "groups": groups,
    }
    return json_response(answer)

"""GET /api/v1/stats: performance by department, category, street, cell or source, and the figures
of the people of the loop (inspector, receiver, dispatcher), as JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from aiohttp import web
from asyncpg.pool import PoolConnectionProxy

from grid_service import keys
from grid_service.configuration.evaluation import EvaluationConfig
from grid_service.configuration.people import LabelsConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import positions as db_positions
from grid_service.db import stats as db_stats
from grid_service.db.rows import FiguresRow, InspectorFigures, ReceiverFigures
from grid_service.errors import ValidationFailed, field_error
from grid_service.handlers.common import connection, json_response, principal, read_connection, validate_query
from grid_service.schemas import StatsQuery
from grid_service.schemas.types import period_instant

DEFAULT_PERIOD = dt.timedelta(days=30)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def street_names(snapshot: ConfigSnapshot) -> dict[str, str]:
    """A street's name: what the names of its cells have in common (e.g. 平房区第02片区)."""
    names: dict[str, list[str]] = {}
    for cell in snapshot.grid.cells:
        names.setdefault(cell.code[:9], []).append(cell.name)
    return {street: _common_start(cells).rstrip("第") or street for street, cells in names.items()}


def _common_start(texts: list[str]) -> str:
    shortest, longest = min(texts), max(texts)  # the two that differ soonest
    end = next((i for i, (a, b) in enumerate(zip(shortest, longest, strict=False)) if a != b), len(shortest))
    return shortest[:end]


def group_name(group_by: str, key: str | None, snapshot: ConfigSnapshot, streets: dict[str, str]) -> str | None:
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
    end = period_instant(query.end, tz) if query.end else request.app[keys.CLOCK]()
    start = period_instant(query.start, tz) if query.start else end - DEFAULT_PERIOD
    if start >= end:
        raise ValidationFailed("the period is empty", details=[field_error(["from"], "must be before to")])
    if start < EARLIEST:  # before 1970 time zones carried odd offsets (+08:05:43) that no client expects
        raise ValidationFailed("the period starts too early", details=[field_error(["from"], "must be after 1970")])
    heavy = request.app[keys.HEAVY_READS]
    # (the people's figures are never kept: computed at every asking, on the read standby if any)
    now = request.app[keys.CLOCK]()
    reading = read_connection(request) if query.group_by in POSITIONS else figures_connection(request, end, now)
    async with heavy.slot(principal(request).token_id), heavy.turn(), reading as conn:
        if query.group_by in POSITIONS:
            position = cast(db_positions.Position, query.group_by)
            people = await db_positions.figures(conn, position, start=start, end=end)
        else:
            rows = await db_stats.figures(
                conn,
                start=start,
                end=end,
                group_by=cast(db_stats.GroupBy, query.group_by),
                adjusted=query.adjusted,
                now=now,
            )
    headings = _headings(query.group_by, snapshot.labels)
    if query.group_by not in POSITIONS:  # the composite scores, each under its own code
        headings.update({score.code: score.name for score in snapshot.evaluation.score})
    if query.group_by in POSITIONS:
        groups = [_person(figures) for figures in people]
    else:
        groups = present_groups(rows, query.group_by, snapshot)
    if "text/csv" in request.headers.get("Accept", ""):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        fields = list(headings)
        writer.writerow(fields)
        writer.writerow([headings[f] for f in fields])  # the names a person reads, under the machine's
        flat = [{**g, **g.get("scores", {})} for g in groups]  # a score is a column of its own
        writer.writerows([[g[f] for f in fields] for g in flat])
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="stats-{query.group_by}.csv"'},
        )
    answer = {
        "from": start.astimezone(tz).isoformat(),
        "to": end.astimezone(tz).isoformat(),
        "group_by": query.group_by,
        "adjusted": query.adjusted,
        "groups": groups,
        "headings": headings,
    }
    return json_response(answer)


POSITIONS = ("inspector", "receiver", "dispatcher")


def figures_connection(
    request: web.Request, end: dt.datetime, now: dt.datetime
) -> AbstractAsyncContextManager[PoolConnectionProxy]:
    """Where a period's figures are read: a period that has settled is computed once and kept
    (db/stats.py figures_kept), which writes, so it is read on the primary, where after its first
    reading it is one lookup; a period still open is computed at every asking, on the read standby
    when there is one. ``now`` is the instant db_stats.figures is given: the same one decides both."""
    if end <= now - db_stats.SETTLED_AFTER:
        return connection(request)
    return read_connection(request)


def present_groups(rows: list[FiguresRow], group_by: str, snapshot: ConfigSnapshot) -> list[dict[str, Any]]:
    """The groups as the API answers them: named, their rates divided as evaluation.toml says."""
    streets = street_names(snapshot) if group_by == "street" else {}
    return [present_group(r, group_name(group_by, r.key, snapshot, streets), snapshot.evaluation) for r in rows]


def present_group(r: FiguresRow, name: str | None, evaluation: EvaluationConfig) -> dict[str, Any]:
    rates = evaluation.rates_of(r._asdict())
    return {
        "key": r.key,
        "name": name,
        "reported": r.reported,
        "dispatched": r.dispatched,
        "filed": r.filed,
        "closed": r.closed,
        "closed_on_time": r.closed_on_time,
        "due": r.due,
        "overdue_open": r.overdue_open,
        "rejected": r.rejected,
        "reworked": r.reworked,
        **rates,  # closure_rate, on_time_rate, rework_rate: as evaluation.toml divides them
        "median_hours_to_close": round(r.median_hours_to_close, 2) if r.median_hours_to_close is not None else None,
        "scores": evaluation.scores_of(rates),
    }


def _person(figures: db_positions.Figures) -> dict[str, Any]:
    """A person's figures (db/positions.py), their rates beside them."""
    common = {"key": figures.key, "name": figures.key}
    if isinstance(figures, InspectorFigures):
        return {
            **common,
            "reported": figures.reported,
            "valid": figures.valid,
            "valid_rate": _rate(figures.valid, figures.reported),
            "check_report_done": figures.check_report_done,
            "check_report_on_time_rate": _rate(figures.check_report_on_time, figures.check_report_done),
            "check_result_done": figures.check_result_done,
            "check_result_on_time_rate": _rate(figures.check_result_on_time, figures.check_result_done),
            "self_handled": figures.self_handled,
        }
    if isinstance(figures, ReceiverFigures):
        return {
            **common,
            "accepted": figures.accepted,
            "filed": figures.filed,
            "filed_on_time_rate": _rate(figures.filed_on_time, figures.filed),
        }
    accurate = figures.dispatched - figures.returned
    return {
        **common,
        "dispatched": figures.dispatched,
        "dispatched_on_time_rate": _rate(figures.dispatched_on_time, figures.dispatched),
        "dispatch_accuracy": _rate(accurate, figures.dispatched),
    }


def _headings(group_by: str, labels: LabelsConfig) -> dict[str, str]:
    """Each figure's name as a person reads it; the checks' in the city's own words (labels.toml)."""
    what = {"department": "部门", "category": "类别", "street": "街道", "grid": "网格", "source": "来源"}
    if group_by == "inspector":
        return {
            "key": "监督员",
            "name": "姓名",
            "reported": "上报数",
            "valid": "有效上报数",
            "valid_rate": "有效上报率",
            "check_report_done": f"{labels.check_report}数",
            "check_report_on_time_rate": f"按时{labels.check_report}率",
            "check_result_done": f"{labels.check_result}数",
            "check_result_on_time_rate": f"按时{labels.check_result}率",
            "self_handled": "自处置数",
        }
    if group_by == "receiver":
        return {
            "key": "受理员",
            "name": "姓名",
            "accepted": "受理数",
            "filed": "立案数",
            "filed_on_time_rate": "按时立案率",
        }
    if group_by == "dispatcher":
        return {
            "key": "派遣员",
            "name": "姓名",
            "dispatched": "派遣数",
            "dispatched_on_time_rate": "按时派遣率",
            "dispatch_accuracy": "准确派遣率",
        }
    return {
        "key": what[group_by],
        "name": "名称",
        "reported": "上报数",
        "dispatched": "派遣数",
        "filed": "立案数",
        "closed": "结案数",
        "closed_on_time": "按期结案数",
        "due": "应结案数",
        "overdue_open": "超期未结数",
        "rejected": "退回数",
        "reworked": "返工数",
        "closure_rate": "结案率",
        "on_time_rate": "按期结案率",
        "rework_rate": "返工率",
        "median_hours_to_close": "结案时长中位数(小时)",
    }

"""GET /api/v1/stats/daily (the period's flow day by day, as JSON) and the statistics' SVG charts:
trend.svg, rates.svg and categories.svg, drawn by grid_service/charts.py.

Periods are read exactly as GET /api/v1/stats reads them (handlers/stats.py); the rates chart's
figures are that endpoint's own, computed by the same functions, raw and adjusted."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from aiohttp import web

from grid_service import charts, keys
from grid_service.db import stats as db_stats
from grid_service.db import stats_daily
from grid_service.db.rows import FiguresRow
from grid_service.errors import ValidationFailed, field_error
from grid_service.handlers.common import json_response, principal, read_connection, validate_query
from grid_service.handlers.stats import DEFAULT_PERIOD, EARLIEST, figures_connection, group_name, present_groups
from grid_service.schemas.stats_charts import MAX_DAYS, ChartQuery, DailyQuery, RatesChartQuery
from grid_service.schemas.types import period_instant

DAILY_DAYS = 30
TOP_CATEGORIES = 10
# An SVG opened on its own is a document: it may style itself, never run or load anything, and it is
# framed by no one (as every answer of the service).
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
GROUP_WORDS = {"department": "部门", "street": "街道"}
NO_GROUP = {"department": "（无部门）", "street": "（网格外）"}  # the cases of no department, or outside the grid


def _period(
    request: web.Request,
    start: dt.datetime | dt.date | None,
    end: dt.datetime | dt.date | None,
    default_end: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) as /api/v1/stats reads it: a date is the city's midnight; a missing start is
    30 days before the end."""
    tz = request.app[keys.CONFIG].current.calendar.timezone
    until = period_instant(end, tz) if end else default_end
    since = period_instant(start, tz) if start else until - DEFAULT_PERIOD
    if since >= until:
        raise ValidationFailed("the period is empty", details=[field_error(["from"], "must be before to")])
    if since < EARLIEST:
        raise ValidationFailed("the period starts too early", details=[field_error(["from"], "must be after 1970")])
    return since, until


def _days_period(request: web.Request, query: DailyQuery) -> tuple[dt.datetime, dt.datetime]:
    """The period of the daily figures: by default the 30 days ending today in the city; at most
    MAX_DAYS calendar days (422 beyond)."""
    tz = request.app[keys.CONFIG].current.calendar.timezone
    today = request.app[keys.CLOCK]().astimezone(tz).date()
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    if query.start is None and query.end is None:
        start: dt.datetime | dt.date = today - dt.timedelta(days=DAILY_DAYS - 1)
        since, until = _period(request, start, None, tomorrow)
    else:
        since, until = _period(request, query.start, query.end, tomorrow)
    first, last = since.astimezone(tz).date(), (until - dt.timedelta(microseconds=1)).astimezone(tz).date()
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            f"the daily figures cover at most {MAX_DAYS} days",
            details=[field_error(["to"], f"at most {MAX_DAYS} calendar days after from", "period_too_long")],
        )
    return since, until


async def _days(request: web.Request, since: dt.datetime, until: dt.datetime) -> list[stats_daily.DayCounts]:
    tz = request.app[keys.CONFIG].current.calendar.timezone
    async with read_connection(request) as conn:  # a bounded index read, not a heavy one
        return await stats_daily.daily(conn, start=since, end=until, timezone=tz)


async def daily(request: web.Request) -> web.StreamResponse:
    since, until = _days_period(request, validate_query(DailyQuery, request))
    tz = request.app[keys.CONFIG].current.calendar.timezone
    days = await _days(request, since, until)
    return json_response(
        {
            "from": since.astimezone(tz).isoformat(),
            "to": until.astimezone(tz).isoformat(),
            "days": [
                {"date": d.day.isoformat(), "reported": d.reported, "filed": d.filed, "closed": d.closed} for d in days
            ],
        }
    )


def _svg(text: str) -> web.Response:
    return web.Response(text=text, content_type="image/svg+xml", headers={"Content-Security-Policy": SVG_POLICY})


def _period_words(since: dt.datetime, until: dt.datetime, tz: dt.tzinfo) -> str:
    """The period as a person reads it: its first and last days, or its instants when it does not
    run from a midnight to a midnight."""
    start, end = since.astimezone(tz), until.astimezone(tz)
    if start.time() == dt.time() and end.time() == dt.time():
        return f"{start.date().isoformat()} 至 {(end.date() - dt.timedelta(days=1)).isoformat()}"
    return f"{start.strftime('%Y-%m-%d %H:%M')} 至 {end.strftime('%Y-%m-%d %H:%M')}"


async def trend_svg(request: web.Request) -> web.StreamResponse:
    since, until = _days_period(request, validate_query(DailyQuery, request))
    tz = request.app[keys.CONFIG].current.calendar.timezone
    days = [charts.Day(d.day, d.reported, d.filed, d.closed) for d in await _days(request, since, until)]
    return _svg(charts.trend(days, _period_words(since, until, tz)))


async def rates_svg(request: web.Request) -> web.StreamResponse:
    query = validate_query(RatesChartQuery, request)
    now = request.app[keys.CLOCK]()
    since, until = _period(request, query.start, query.end, now)
    snapshot = request.app[keys.CONFIG].current
    group_by = cast(db_stats.GroupBy, query.group_by)
    heavy = request.app[keys.HEAVY_READS]
    async with heavy.slot(principal(request).token_id), heavy.turn(), figures_connection(request, until, now) as conn:
        raw = await db_stats.figures(conn, start=since, end=until, group_by=group_by, adjusted=False, now=now)
        adjusted = await db_stats.figures(conn, start=since, end=until, group_by=group_by, adjusted=True, now=now)

    def shown(rows: list[FiguresRow]) -> dict[str | None, dict[str, Any]]:
        # The groups as /api/v1/stats answers them (names, rates as evaluation.toml divides them).
        return {group["key"]: group for group in present_groups(rows, query.group_by, snapshot)}

    raw_groups, adjusted_groups = shown(raw), shown(adjusted)
    groups = [
        charts.RateGroup(
            name=group["name"] or NO_GROUP[query.group_by],
            closure_raw=group["closure_rate"],
            closure_adjusted=adjusted_groups.get(key, {}).get("closure_rate"),
            on_time_raw=group["on_time_rate"],
            on_time_adjusted=adjusted_groups.get(key, {}).get("on_time_rate"),
        )
        for key, group in raw_groups.items()  # (the same groups either way: a group is what was filed or reported)
    ]
    words = _period_words(since, until, snapshot.calendar.timezone)
    return _svg(charts.rates(groups, GROUP_WORDS[query.group_by], words))


async def categories_svg(request: web.Request) -> web.StreamResponse:
    query = validate_query(ChartQuery, request)
    since, until = _period(request, query.start, query.end, request.app[keys.CLOCK]())
    snapshot = request.app[keys.CONFIG].current
    async with read_connection(request) as conn:  # a bounded index read, not a heavy one
        top = await stats_daily.top_categories(conn, start=since, end=until, limit=TOP_CATEGORIES)
    counts = [(group_name("category", row.category, snapshot, {}) or row.category, row.reported) for row in top]
    return _svg(charts.categories(counts, _period_words(since, until, snapshot.calendar.timezone)))


async def cells(request: web.Request) -> web.StreamResponse:
    """The cases reported per cell in the period, for the heat map: the creation index alone, where
    the figures by cell (GET /api/v1/stats?group_by=grid) judge a whole cohort."""
    query = validate_query(ChartQuery, request)
    since, until = _period(request, query.start, query.end, request.app[keys.CLOCK]())
    tz = request.app[keys.CONFIG].current.calendar.timezone
    async with read_connection(request) as conn:  # a bounded index read, not a heavy one
        counts = await stats_daily.cell_counts(conn, start=since, end=until)
    return json_response(
        {
            "from": since.astimezone(tz).isoformat(),
            "to": until.astimezone(tz).isoformat(),
            "cells": [{"code": code, "reported": reported} for code, reported in counts],
        }
    )

"""The statistics the workbench charts (issue 16): the period's flow day by day, and three SVG charts
of the assessment figures. Same roles as GET /api/v1/stats."""

from __future__ import annotations

from grid_service.handlers import stats_charts
from grid_service.routes.route import Route
from grid_service.schemas import Role
from grid_service.schemas.stats_charts import CellCounts, ChartQuery, DailyAnswer, DailyQuery, RatesChartQuery

STATS_READERS = frozenset({Role.DISPATCHER, Role.SHIFT_LEAD, Role.VIEWER, Role.ADMIN})
# The daily flow, the trend, the categories and the cells are bounded index reads (a period of at most
# 366 days, read by the instants' indexes), not heavy reads: only the rates chart, which judges the
# cohort as GET /api/v1/stats does, takes a heavy-read slot.
SVG = "image/svg+xml"

STATS_CHART_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/v1/stats/daily",
        stats_charts.daily,
        "stats.daily",
        STATS_READERS,
        "The period's flow day by day: for every calendar day in the city's time zone that the period touches "
        "(zeros included, oldest first), the cases reported (created), filed (立案: on intake or by a receiver) "
        "and closed (结案: after a passed check, or self-handled) that day, by the instants GET /api/v1/stats "
        "counts with. Default: the 30 days ending today; at most 366 days (422 beyond).",
        DailyAnswer,
        query=DailyQuery,
        errors=(422, 503),
    ),
    Route(
        "GET",
        "/api/v1/stats/trend.svg",
        stats_charts.trend_svg,
        "stats.trend_svg",
        STATS_READERS,
        "The daily figures (as /api/v1/stats/daily, same period rules) as an SVG line chart: 上报, 立案 and 结案 "
        "over the days, with axes, a legend with each line's total and a y scale at round ticks; 无数据 when "
        "nothing happened.",
        query=DailyQuery,
        errors=(422, 503),
        content_type=SVG,
    ),
    Route(
        "GET",
        "/api/v1/stats/rates.svg",
        stats_charts.rates_svg,
        "stats.rates_svg",
        STATS_READERS,
        "结案率 and 按期结案率 of each department or street (group_by) as an SVG bar chart, raw (按原期) beside "
        "adjusted (按批准期): the figures GET /api/v1/stats gives for the same period, without and with "
        "adjusted=true. Default period: as /api/v1/stats (the 30 days to now); 无数据 when there is no group.",
        query=RatesChartQuery,
        errors=(422, 429, 503),
        content_type=SVG,
    ),
    Route(
        "GET",
        "/api/v1/stats/categories.svg",
        stats_charts.categories_svg,
        "stats.categories_svg",
        STATS_READERS,
        "The ten categories reported most in the period (as reported by category in /api/v1/stats) as an SVG "
        "of horizontal bars, each with the category's name and count. Default period: as /api/v1/stats; 无数据 "
        "when nothing was reported.",
        query=ChartQuery,
        errors=(422, 503),
        content_type=SVG,
    ),
    Route(
        "GET",
        "/api/v1/stats/cells",
        stats_charts.cells,
        "stats.cells",
        STATS_READERS,
        "The cases reported (created) in the period per grid cell, for the workbench's heat map (same period "
        "rules as the charts).",
        CellCounts,
        query=ChartQuery,
        errors=(422, 503),
    ),
)

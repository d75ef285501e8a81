"""The statistics the workbench charts: the day-by-day flow, and the queries of the SVG charts.

Periods are read as GET /api/v1/stats reads them (StatsQuery): `from` and `to` are instants with a
UTC offset or dates (a date is midnight in the city), `to` excluded."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from grid_service.schemas.command_center import PeriodQuery
from grid_service.schemas.types import PeriodEnd

MAX_DAYS = 366


class DailyQuery(PeriodQuery):
    """A period of whole days by default: the 30 ending today in the city."""

    end: PeriodEnd | None = Field(
        default=None,
        alias="to",
        description="end of the period, excluded (a date is midnight in the city); default: tomorrow's midnight "
        f"in the city (today included); at most {MAX_DAYS} calendar days",
    )


class ChartQuery(PeriodQuery):
    """A period as GET /api/v1/stats takes it, by default the same (the 30 days to now)."""


class RatesChartQuery(ChartQuery):
    group_by: Literal["department", "street"] = "department"


class DayFigures(BaseModel):
    date: dt.date = Field(description="a calendar day in the city's time zone")
    reported: int = Field(description="上报: cases created that day")
    filed: int = Field(description="立案: cases filed that day (on intake, or by a receiver)")
    closed: int = Field(description="结案: cases closed that day (after a passed check, or self-handled)")


class DailyAnswer(BaseModel):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime = Field(alias="to")
    days: list[DayFigures] = Field(
        description="every calendar day the period touches, oldest first, zeros included; the first and last "
        "count only their part inside the period"
    )


class CellCount(BaseModel):
    code: str = Field(description="the grid cell's code")
    reported: int = Field(description="上报: cases created in the period in the cell")


class CellCounts(BaseModel):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime = Field(alias="to")
    cells: list[CellCount] = Field(description="the cells with cases, by code")

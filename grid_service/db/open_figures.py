"""What /metrics counts in the database at a scrape: the open cases by status and light, how many
are overdue and escalated, and how far behind the newest events a reader of the log is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grid_service.db.cases import OPEN_ONLY, OVERDUE, light_condition
from grid_service.db.pool import Conn

LIGHT_ORDER = ("red", "yellow", "green", "suspended")  # the first that holds, as the presenter decides


@dataclass(frozen=True, slots=True)
class OpenFigures:
    by_status_light: dict[tuple[str, str], int]  # light "none": no clock runs (waiting for a step)
    overdue: int
    escalated: int


async def open_figures(conn: Conn, *, now: dt.datetime, step_minutes: Mapping[str, float]) -> OpenFigures:
    """One pass over the unfinished cases (the partial index of migration 0025 holds them)."""
    params: list[Any] = []
    arms = " ".join(f"WHEN {light_condition(light, now, step_minutes, params)} THEN '{light}'" for light in LIGHT_ORDER)
    params.append(now)
    overdue = OVERDUE.format(n=len(params))
    sql = f"""
        SELECT c.status, CASE {arms} ELSE 'none' END AS light, count(*) AS cases,
               count(*) FILTER (WHERE {overdue}) AS overdue,
               count(*) FILTER (WHERE c.escalation_level > 0) AS escalated
        FROM cases c WHERE {OPEN_ONLY} GROUP BY 1, 2"""
    rows = await conn.fetch(sql, *params)
    return OpenFigures(
        by_status_light={(row["status"], row["light"]): row["cases"] for row in rows},
        overdue=sum(row["overdue"] for row in rows),
        escalated=sum(row["escalated"] for row in rows),
    )


OLDEST_UNREAD = "SELECT extract(epoch FROM now() - at) FROM events WHERE seq > $1 ORDER BY seq LIMIT 1"


async def seconds_behind(conn: Conn, position: int) -> float:
    """How old the oldest event after ``position`` is (0 when there is none): a reader's lag."""
    age = await conn.fetchval(OLDEST_UNREAD, position)
    return max(0.0, float(age)) if age is not None else 0.0

"""Traffic lights: how much of a case's time limit is used (SPEC §3)."""

from __future__ import annotations

import datetime as dt

from grid_service.domain.calendar import WorkingCalendar
from grid_service.domain.deadlines import Clock, working_time_between
from grid_service.schemas import CaseStatus, Light

YELLOW_FROM = 0.8
RUNNING = frozenset({CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS})


def light(
    *,
    status: CaseStatus,
    dispatched_at: dt.datetime | None,
    deadline_at: dt.datetime | None,
    now: dt.datetime,
    clock: Clock,
    calendar: WorkingCalendar,
) -> Light | None:
    """green under 80 % of the limit used, yellow from 80 %, red once overdue; None when no clock runs.

    The fraction is measured on the category's clock, so a working-hours case
    does not creep towards yellow over a weekend.
    """
    if status not in RUNNING or dispatched_at is None or deadline_at is None:
        return None
    if now >= deadline_at:
        return Light.RED
    if clock is Clock.WORKING:
        limit = working_time_between(dispatched_at, deadline_at, calendar)
        used = working_time_between(dispatched_at, now, calendar)
    else:
        limit, used = deadline_at - dispatched_at, max(now - dispatched_at, dt.timedelta())
    if limit <= dt.timedelta() or used / limit >= YELLOW_FROM:
        return Light.YELLOW
    return Light.GREEN


def is_overdue(*, status: CaseStatus, deadline_at: dt.datetime | None, now: dt.datetime) -> bool:
    return status in RUNNING and deadline_at is not None and now >= deadline_at

"""Traffic lights: how much of a case's time limit is used (SPEC §3).

green under 80 % of the limit used, yellow from 80 %, red once overdue. The
fraction is measured on the category's clock, so a working-hours case does
not creep towards yellow over a weekend. The instant the case turns yellow
(``warning_at``) is computed once, when the deadline is set, and stored with
the case: every read then only compares instants, and the warning sweep can
find the cases that turned yellow with an index.
"""

from __future__ import annotations

import datetime as dt

from grid_service.domain import states
from grid_service.domain.calendar import WorkingCalendar
from grid_service.domain.deadlines import Clock, add_working_time, working_time_between
from grid_service.domain.enums import CaseStatus, Light

YELLOW_FROM = 0.8
RUNNING = frozenset({CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS})  # a status string is found here too
FINISHED = states.FINISHED  # no light: grey on the map


def warning_at(
    dispatched_at: dt.datetime, deadline_at: dt.datetime, clock: Clock, calendar: WorkingCalendar
) -> dt.datetime:
    """The first instant at which 80 % of the time from dispatch to deadline is used, on ``clock``."""
    if clock is Clock.NATURAL:
        return dispatched_at + (deadline_at - dispatched_at) * YELLOW_FROM
    return calendar.remember(
        ("warning", dispatched_at, deadline_at), lambda: _working_warning_at(dispatched_at, deadline_at, calendar)
    )


def _working_warning_at(dispatched_at: dt.datetime, deadline_at: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    limit = working_time_between(dispatched_at, deadline_at, calendar)
    if limit <= dt.timedelta():
        return dispatched_at
    return add_working_time(dispatched_at.astimezone(calendar.timezone), limit * YELLOW_FROM, calendar)


def light(
    *, status: str, warn_at: dt.datetime | None, deadline_at: dt.datetime | None, now: dt.datetime
) -> Light | None:
    """The case's light now; None when no clock runs (pending, resolved, closed, cancelled), its own
    when its clock stands still (suspended)."""
    if status == CaseStatus.SUSPENDED:
        return Light.SUSPENDED
    if status not in RUNNING or deadline_at is None:
        return None
    if now >= deadline_at:
        return Light.RED
    if warn_at is None or now >= warn_at:
        return Light.YELLOW
    return Light.GREEN


def is_overdue(*, status: str, deadline_at: dt.datetime | None, now: dt.datetime) -> bool:
    return status in RUNNING and deadline_at is not None and now >= deadline_at

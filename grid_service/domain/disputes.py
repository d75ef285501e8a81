"""What approved disputes do to a deadline (SPEC §11), as pure functions of the case's clock.

An approved extension adds time after the deadline in force: one original limit by default, or
the hours asked for, counted on the category's clock from that deadline. An approved suspension
pauses the clock: when the case resumes, its deadline moves by the time the clock was paused,
counted on the case's clock — a suspension from Friday 16:30 to Tuesday 09:30 over a weekend and
a Monday holiday pauses a working-hours case for the two working hours inside it, not for four
days. Both keep the time a case had left: they never move a deadline earlier.
"""

from __future__ import annotations

import datetime as dt

from grid_service.domain.calendar import WorkingCalendar
from grid_service.domain.deadlines import Clock, add_working_time, deadline, working_time_between


def extended(deadline_at: dt.datetime, hours: float, clock: Clock, calendar: WorkingCalendar) -> dt.datetime:
    """The deadline in force after an approved extension of ``hours`` (> 0) on ``clock``."""
    return deadline(deadline_at, hours, clock, calendar)


def paused_for(
    suspended_at: dt.datetime, resumed_at: dt.datetime, clock: Clock, calendar: WorkingCalendar
) -> dt.timedelta:
    """How long the clock stood still, on ``clock`` (zero for a resume at or before the start)."""
    if resumed_at <= suspended_at:
        return dt.timedelta()
    if clock is Clock.NATURAL:
        return resumed_at - suspended_at
    return working_time_between(suspended_at, resumed_at, calendar)


def resumed(
    deadline_at: dt.datetime,
    *,
    suspended_at: dt.datetime,
    resumed_at: dt.datetime,
    clock: Clock,
    calendar: WorkingCalendar,
) -> dt.datetime:
    """The deadline in force once a case suspended at ``suspended_at`` resumes at ``resumed_at``:
    the old one moved by the paused time, on ``clock``."""
    return moved(deadline_at, paused_for(suspended_at, resumed_at, clock, calendar), clock, calendar)


def moved(deadline_at: dt.datetime, paused: dt.timedelta, clock: Clock, calendar: WorkingCalendar) -> dt.datetime:
    """``deadline_at`` moved later by ``paused``, counted on ``clock``."""
    if paused <= dt.timedelta():
        return deadline_at  # a pause with no working time in it (a night, a weekend) moves nothing
    if clock is Clock.NATURAL:
        return deadline_at + paused
    return add_working_time(deadline_at.astimezone(calendar.timezone), paused, calendar)

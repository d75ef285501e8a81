"""Deadlines: a start instant plus a time limit, counted on a clock.

``natural`` counts every hour. ``working`` counts only the hours inside the
calendar's working periods on working days: a report made on Friday at 17:00
with a 2-hour working limit in an 08:30–12:00 / 13:30–17:30 calendar is due on
Monday at 10:00. Counting starts at the first working moment at or after the
start; a limit that uses up a period exactly ends at that period's end (12:00,
not 13:30). All results are timezone-aware, in the calendar's time zone.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum

from grid_service.domain.calendar import ONE_MICROSECOND, WorkingCalendar

# A limit that cannot be met within this many calendar days means the calendar
# has (almost) no working time; fail loudly rather than loop for ever.
MAX_SEARCH_DAYS = 3 * 366
ONE_DAY = dt.timedelta(days=1)


class Clock(StrEnum):
    WORKING = "working"
    NATURAL = "natural"


class NoWorkingTimeError(ValueError):
    """The calendar offers no working time to count a limit on."""


def deadline(start: dt.datetime, hours: float, clock: Clock, calendar: WorkingCalendar) -> dt.datetime:
    """The instant ``hours`` of ``clock`` time after ``start`` (aware), in the calendar's zone."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours <= 0:
        raise ValueError("a time limit must be positive")
    return calendar.remember(("deadline", start, hours, clock), lambda: _deadline(start, hours, clock, calendar))


def _deadline(start: dt.datetime, hours: float, clock: Clock, calendar: WorkingCalendar) -> dt.datetime:
    local = start.astimezone(calendar.timezone)
    if clock is Clock.NATURAL:
        return (local.astimezone(dt.UTC) + dt.timedelta(hours=hours)).astimezone(calendar.timezone)
    return add_working_time(local, dt.timedelta(hours=hours), calendar)


def add_working_time(start: dt.datetime, amount: dt.timedelta, calendar: WorkingCalendar) -> dt.datetime:
    """The instant by which ``amount`` of working time has passed since ``start`` (local); for no
    time at all (a limit too small to count in microseconds), the first working instant from it."""
    if amount < dt.timedelta():
        raise ValueError("working time to add must not be negative")
    start = start.astimezone(calendar.timezone)
    day = start.date()
    if not amount:
        return _first_working_instant(start, calendar)
    # Days looked at first: the fewest the amount could take (a whole day's working time per day),
    # doubled while the limit runs on, so the calendar is read little past the day it ends.
    span = max(1, math.ceil(amount / ONE_DAY))
    while True:
        index = calendar.worked_index(day, day + dt.timedelta(days=min(span, MAX_SEARCH_DAYS)))
        found = index.instant_reaching(index.worked_by(start) + amount // ONE_MICROSECOND, from_day=day)
        if found is not None:
            return found
        if span >= MAX_SEARCH_DAYS:
            raise NoWorkingTimeError(f"no working time within {MAX_SEARCH_DAYS} days of {start.isoformat()}")
        span *= 2


def _first_working_instant(start: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    day = start.date()
    for _ in range(MAX_SEARCH_DAYS):
        for period_start, period_end in calendar.periods_on(day):
            if start < period_end:
                return max(period_start, start)
        day += ONE_DAY
    raise NoWorkingTimeError(f"no working time within {MAX_SEARCH_DAYS} days of {start.isoformat()}")


def working_time_between(start: dt.datetime, end: dt.datetime, calendar: WorkingCalendar) -> dt.timedelta:
    """Working time elapsed from ``start`` to ``end`` (zero when end <= start)."""
    if end <= start:
        return dt.timedelta()
    start = start.astimezone(calendar.timezone)
    end = end.astimezone(calendar.timezone)
    index = calendar.worked_index(start.date(), end.date())
    return dt.timedelta(microseconds=index.worked_by(end) - index.worked_by(start))


def working_time_before(end: dt.datetime, amount: dt.timedelta, calendar: WorkingCalendar) -> dt.datetime:
    """The latest instant from which ``amount`` of working time has passed by ``end``: a deadline at
    or before it is ``amount`` past on the working clock at ``end`` (the deadline watch's threshold
    for an escalation rung counted in working hours)."""
    end = end.astimezone(calendar.timezone)
    remaining = amount
    day = end.date()
    for _ in range(MAX_SEARCH_DAYS):
        for period_start, period_end in reversed(calendar.periods_on(day)):
            finish = min(period_end, end)
            if finish <= period_start:
                continue
            available = finish - period_start
            if remaining <= available:
                return finish - remaining
            remaining -= available
        day -= dt.timedelta(days=1)
    raise NoWorkingTimeError(f"no working time within {MAX_SEARCH_DAYS} days before {end.isoformat()}")

"""Traffic lights: the stored yellow instant agrees with "80 % of the limit used, on the category's clock"."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from grid_service.domain.calendar import WorkingCalendar, WorkingPeriod
from grid_service.domain.deadlines import Clock, deadline, working_time_between
from grid_service.domain.lights import YELLOW_FROM, light, warning_at
from grid_service.schemas import CaseStatus, Light

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar(
    timezone=SHANGHAI,
    periods=(WorkingPeriod(dt.time(8, 30), dt.time(12)), WorkingPeriod(dt.time(13, 30), dt.time(17, 30))),
    working_weekdays=frozenset(range(1, 6)),  # ISO: Monday to Friday
)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)  # 2026-11-23 is a Monday


def used_share(start: dt.datetime, due: dt.datetime, now: dt.datetime, clock: Clock) -> float:
    """The definition: how much of the limit is used at ``now``, on the clock."""
    if clock is Clock.NATURAL:
        return (now - start) / (due - start)
    return working_time_between(start, now, CALENDAR) / working_time_between(start, due, CALENDAR)


def test_a_working_hours_case_does_not_turn_yellow_over_the_weekend():
    start = at(27, 16)  # Friday 16:00, 7.5 working hours: due Monday 16:00
    due = deadline(start, 7.5, Clock.WORKING, CALENDAR)
    assert due == at(30, 16)
    warn = warning_at(start, due, Clock.WORKING, CALENDAR)
    assert warn == at(30, 14, 30)  # 6 of the 7.5 hours used: Monday 14:30
    assert light(status=CaseStatus.DISPATCHED, warn_at=warn, deadline_at=due, now=at(29, 23)) is Light.GREEN
    assert light(status=CaseStatus.DISPATCHED, warn_at=warn, deadline_at=due, now=at(30, 14, 30)) is Light.YELLOW
    assert light(status=CaseStatus.IN_PROGRESS, warn_at=warn, deadline_at=due, now=at(30, 16)) is Light.RED
    assert light(status=CaseStatus.RESOLVED, warn_at=warn, deadline_at=due, now=at(30, 16)) is None
    assert light(status=CaseStatus.PENDING_DISPATCH, warn_at=None, deadline_at=None, now=at(30, 16)) is None


def test_a_natural_clock_case_turns_yellow_at_80_percent_of_its_hours():
    start = at(27, 16)
    due = deadline(start, 2, Clock.NATURAL, CALENDAR)
    assert warning_at(start, due, Clock.NATURAL, CALENDAR) == at(27, 17, 36)


@settings(max_examples=300, deadline=None)
@given(
    start_minutes=st.integers(0, 60 * 24 * 14),
    hours=st.sampled_from([0.5, 2, 4, 7.5, 24, 37.5, 72]),
    clock=st.sampled_from(list(Clock)),
    later_minutes=st.integers(0, 60 * 24 * 20),
)
def test_the_yellow_instant_is_where_80_percent_of_the_limit_is_used(start_minutes, hours, clock, later_minutes):
    start = at(23, 0) + dt.timedelta(minutes=start_minutes)
    due = deadline(start, hours, clock, CALENDAR)
    warn = warning_at(start, due, clock, CALENDAR)
    assert start <= warn < due
    now = start + dt.timedelta(minutes=later_minutes)
    expected = (
        Light.RED if now >= due else Light.YELLOW if used_share(start, due, now, clock) >= YELLOW_FROM else Light.GREEN
    )
    assert light(status=CaseStatus.DISPATCHED, warn_at=warn, deadline_at=due, now=now) is expected

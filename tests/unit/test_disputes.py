"""The deadline engine's approved changes: extensions and suspensions, on the case's clock."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid_service.domain.deadlines import Clock, deadline, working_time_between
from grid_service.domain.disputes import extended, paused_for, resumed
from tests.unit.test_deadlines import SHANGHAI, at, calendar

CALENDAR = calendar()  # 08:30–12:00, 13:30–17:30, Mon–Fri; Tue 1 Dec 2026 a local holiday, Sat 5 Dec worked


@pytest.mark.parametrize(
    "deadline_at, hours, clock, expected",
    [
        ("2026-11-26 16:00", 2, Clock.WORKING, "2026-11-27 09:00"),  # 1.5 hours that day, half an hour the next
        ("2026-11-27 17:30", 1, Clock.WORKING, "2026-11-30 09:30"),  # from a Friday's close: Monday
        ("2026-11-30 16:30", 2, Clock.WORKING, "2026-12-02 09:30"),  # the holiday Tuesday does not count
        ("2026-11-27 17:30", 24, Clock.NATURAL, "2026-11-28 17:30"),  # natural: the weekend counts
    ],
)
def test_an_extension_adds_its_hours_after_the_deadline_in_force(deadline_at, hours, clock, expected):
    assert extended(at(deadline_at), hours, clock, CALENDAR) == at(expected)


@pytest.mark.parametrize(
    "suspended, resumed_at, clock, paused",
    [
        # Friday 16:30 to Wednesday 09:30 across the weekend and the holiday Tuesday: Friday's last
        # hour, Monday's 7.5 and Wednesday's first hour.
        ("2026-11-27 16:30", "2026-12-02 09:30", Clock.WORKING, dt.timedelta(hours=9.5)),
        ("2026-11-27 16:30", "2026-12-02 09:30", Clock.NATURAL, dt.timedelta(days=4, hours=17)),
        ("2026-11-28 09:00", "2026-11-29 18:00", Clock.WORKING, dt.timedelta()),  # a weekend: nothing
        ("2026-11-30 18:00", "2026-12-02 08:30", Clock.WORKING, dt.timedelta()),  # evening, holiday, night
        ("2026-11-26 11:30", "2026-11-26 14:00", Clock.WORKING, dt.timedelta(hours=1)),  # over lunch
        ("2026-11-26 14:00", "2026-11-26 11:30", Clock.WORKING, dt.timedelta()),  # resumed before: nothing
    ],
)
def test_the_paused_time_is_counted_on_the_cases_clock(suspended, resumed_at, clock, paused):
    assert paused_for(at(suspended), at(resumed_at), clock, CALENDAR) == paused


def test_a_suspension_over_a_weekend_and_a_holiday_moves_the_deadline_by_its_working_hours():
    due = at("2026-11-30 10:00")  # Monday
    moved = resumed(
        due,
        suspended_at=at("2026-11-27 16:30"),  # Friday: 1 working hour left that day
        resumed_at=at("2026-12-02 09:30"),  # Wednesday (Tuesday 1 Dec a holiday)
        clock=Clock.WORKING,
        calendar=CALENDAR,
    )
    # 9.5 working hours after Monday 10:00: Monday's 6 left, then Wednesday's 3.5 (Tuesday is off).
    assert moved == at("2026-12-02 12:00")
    unmoved = resumed(
        due,
        suspended_at=at("2026-11-28 09:00"),
        resumed_at=at("2026-11-29 18:00"),
        clock=Clock.WORKING,
        calendar=CALENDAR,
    )
    assert unmoved == due, "a suspension over a weekend alone pauses no working time"


instants = st.datetimes(min_value=dt.datetime(2026, 11, 16), max_value=dt.datetime(2026, 12, 20)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
)


@settings(max_examples=300, deadline=None)
@given(
    start=instants,
    limit=st.sampled_from([0.5, 2, 7.5, 37.5]),
    suspended=instants,
    length=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=12)),
    clock=st.sampled_from(list(Clock)),
)
def test_a_resumed_deadline_is_the_old_one_moved_by_the_paused_time_on_its_clock(
    start, limit, suspended, length, clock
):
    due = deadline(start, limit, clock, CALENDAR)
    back = suspended + length
    moved = resumed(due, suspended_at=suspended, resumed_at=back, clock=clock, calendar=CALENDAR)
    paused = paused_for(suspended, back, clock, CALENDAR)
    assert moved >= due, "a suspension never takes time away"
    if clock is Clock.NATURAL:
        assert moved - due == paused
    else:
        assert working_time_between(due, moved, CALENDAR) == paused
        assert paused <= length


@settings(max_examples=200, deadline=None)
@given(due=instants, hours=st.sampled_from([0.5, 1, 4, 7.5, 37.5]), clock=st.sampled_from(list(Clock)))
def test_an_extension_adds_exactly_its_hours_on_its_clock(due, hours, clock):
    later = extended(due, hours, clock, CALENDAR)
    added = later - due if clock is Clock.NATURAL else working_time_between(due, later, CALENDAR)
    assert added == dt.timedelta(hours=hours)

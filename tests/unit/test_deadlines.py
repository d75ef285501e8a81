import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid_service.domain.calendar import ChinaOfficialHolidays, WorkingCalendar, WorkingPeriod
from grid_service.domain.deadlines import Clock, deadline, working_time_between

SHANGHAI = ZoneInfo("Asia/Shanghai")


def calendar(**overrides):
    values = dict(
        timezone=SHANGHAI,
        periods=(WorkingPeriod(dt.time(8, 30), dt.time(12, 0)), WorkingPeriod(dt.time(13, 30), dt.time(17, 30))),
        working_weekdays=frozenset({1, 2, 3, 4, 5}),
        official=ChinaOfficialHolidays(),
        holidays=frozenset({dt.date(2026, 12, 1)}),
        extra_working_days=frozenset({dt.date(2026, 12, 5)}),
    )
    values.update(overrides)
    return WorkingCalendar(**values)


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "start, hours, expected",
    [
        ("2026-11-26 09:00", 2, "2026-11-26 11:00"),  # inside the morning
        ("2026-11-26 11:00", 2, "2026-11-26 14:30"),  # over the lunch break
        ("2026-11-26 11:00", 1, "2026-11-26 12:00"),  # uses the morning exactly: ends at 12:00, not 13:30
        ("2026-11-26 07:00", 1, "2026-11-26 09:30"),  # before work: counting starts at 08:30
        ("2026-11-26 12:30", 1, "2026-11-26 14:30"),  # during lunch
        ("2026-11-26 17:00", 1, "2026-11-27 09:00"),  # over the evening
        ("2026-11-27 17:00", 2, "2026-11-30 10:00"),  # Friday evening -> Monday
        ("2026-11-28 10:00", 0.5, "2026-11-30 09:00"),  # Saturday: nothing counts until Monday
        ("2026-11-30 17:00", 1, "2026-12-02 09:00"),  # local holiday Tue 1 Dec is skipped
        ("2026-12-04 17:00", 1, "2026-12-05 09:00"),  # local make-up Saturday 5 Dec works
        ("2026-09-30 17:00", 1, "2026-10-08 09:00"),  # National Day holiday, 1-7 Oct 2026
        ("2026-10-09 17:00", 1, "2026-10-10 09:00"),  # Sat 10 Oct 2026 is a national make-up working day
        ("2026-11-26 09:00", 37.5, "2026-12-04 09:00"),  # 5 working days, Tue 1 Dec off, Sat 5 Dec not needed
        ("2026-11-26 09:00", 7.5, "2026-11-27 09:00"),  # one working day
    ],
)
def test_working_deadlines(start, hours, expected):
    assert deadline(at(start), hours, Clock.WORKING, calendar()) == at(expected)


@pytest.mark.parametrize(
    "start, hours, expected",
    [
        ("2026-11-27 23:00", 2, "2026-11-28 01:00"),
        ("2026-11-28 10:00", 0.5, "2026-11-28 10:30"),
        ("2026-09-30 17:00", 24, "2026-10-01 17:00"),
    ],
)
def test_natural_deadlines_ignore_the_calendar(start, hours, expected):
    assert deadline(at(start), hours, Clock.NATURAL, calendar()) == at(expected)


def test_result_is_in_the_calendar_zone_whatever_the_input_zone():
    start = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    result = deadline(start, 1, Clock.WORKING, calendar())
    assert result == at("2026-11-26 10:00") and result.utcoffset() == dt.timedelta(hours=8)


def test_a_year_without_official_data_still_gets_a_deadline_and_is_reported_once(caplog):
    cal = calendar()
    # 2027-01-01 is a Friday; the package has no 2027 data, so only weekdays and local days count.
    first = deadline(at("2026-12-31 17:00"), 1, Clock.WORKING, cal)
    second = deadline(at("2027-01-04 17:00"), 1, Clock.WORKING, cal)
    assert first == at("2027-01-01 09:00")
    assert second == at("2027-01-05 09:00")
    assert cal.missing_years == {2027}
    assert sum("2027" in r.getMessage() for r in caplog.records) == 1


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        deadline(dt.datetime(2026, 11, 26, 9), 1, Clock.WORKING, calendar())


def in_working_time(cal, moment):
    local = moment.astimezone(cal.timezone)
    return any(start <= local <= end for start, end in cal.periods_on(local.date()))


starts = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 12, 31), timezones=st.just(SHANGHAI)
)
limits = st.floats(min_value=0.01, max_value=120, allow_nan=False, allow_infinity=False)
CAL = calendar()


@settings(max_examples=300, deadline=None)
@given(start=starts, hours=limits)
def test_a_working_deadline_always_falls_inside_working_time(start, hours):
    result = deadline(start, hours, Clock.WORKING, CAL)
    assert result > start
    assert in_working_time(CAL, result)


@settings(max_examples=200, deadline=None)
@given(start=starts, hours=limits, more=limits)
def test_longer_limits_never_end_earlier(start, hours, more):
    assert deadline(start, hours, Clock.WORKING, CAL) <= deadline(start, hours + more, Clock.WORKING, CAL)


@settings(max_examples=200, deadline=None)
@given(start=starts, hours=limits)
def test_the_working_time_until_the_deadline_is_the_limit(start, hours):
    result = deadline(start, hours, Clock.WORKING, CAL)
    assert abs(working_time_between(start, result, CAL) - dt.timedelta(hours=hours)) < dt.timedelta(seconds=1)


@settings(max_examples=300, deadline=None)
@given(
    end=st.datetimes(min_value=dt.datetime(2026, 11, 16), max_value=dt.datetime(2026, 12, 20)).map(
        lambda d: d.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
    ),
    hours=st.sampled_from([0.25, 1, 4, 7.5, 24, 72]),
)
def test_working_time_before_is_the_latest_start_whose_limit_has_passed(end, hours):
    from grid_service.domain.deadlines import working_time_before

    cal = calendar()
    start = working_time_before(end, dt.timedelta(hours=hours), cal)
    assert working_time_between(start, end, cal) == dt.timedelta(hours=hours)
    assert deadline(start, hours, Clock.WORKING, cal) <= end, "a deadline at the threshold has passed its rung"
    later = start + dt.timedelta(minutes=1)
    if working_time_between(later, end, cal) < dt.timedelta(hours=hours):
        assert deadline(later, hours, Clock.WORKING, cal) > end, "and one a minute later has not"


def test_working_time_before_over_a_weekend():
    from grid_service.domain.deadlines import working_time_before

    # 4 working hours before Monday 30 Nov 10:00: Monday 1.5 h, then Friday 27 Nov from 15:00.
    assert working_time_before(at("2026-11-30 10:00"), dt.timedelta(hours=4), calendar()) == at("2026-11-27 15:00")


def walked_between(start, end, cal):
    """The working time between two instants, counted period by period over every day in between."""
    total, day = dt.timedelta(), start.astimezone(SHANGHAI).date()
    while day <= end.astimezone(SHANGHAI).date():
        for begin, finish in cal.periods_on(day):
            total += max(dt.timedelta(), min(finish, end) - max(begin, start))
        day += dt.timedelta(days=1)
    return total


def walked_deadline(start, amount, cal):
    """The instant ``amount`` of working time after ``start``, found by walking period by period."""
    day = start.astimezone(SHANGHAI).date()
    while True:
        for begin, finish in cal.periods_on(day):
            begin = max(begin, start)
            if begin < finish:
                if amount <= finish - begin:
                    return begin + amount
                amount -= finish - begin
        day += dt.timedelta(days=1)


wide_instants = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 6, 30), timezones=st.just(SHANGHAI)
)


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(wide_instants, wide_instants), min_size=1, max_size=6),
    hours=st.lists(st.floats(min_value=0.001, max_value=2_000), min_size=6, max_size=6),
)
def test_the_calendars_index_agrees_with_walking_every_day(pairs, hours):
    """Whatever order instants are asked in (the index grows forward, reaches back, starts afresh),
    the working time between two instants and a limit's end are what walking day by day gives."""
    cal = calendar()
    for (a, b), h in zip(pairs, hours, strict=False):
        start, end = min(a, b), max(a, b)
        assert working_time_between(start, end, cal) == walked_between(start, end, cal)
        assert deadline(start, h, Clock.WORKING, cal) == walked_deadline(start, dt.timedelta(hours=h), cal)


def test_the_index_starts_afresh_rather_than_span_more_than_it_keeps():
    from grid_service.domain.calendar import MAX_INDEXED_DAYS

    cal = calendar(official=None)
    near, far = at("2026-11-26 09:00"), at("2026-11-26 09:00") + dt.timedelta(days=MAX_INDEXED_DAYS + 10)
    assert working_time_between(near, near + dt.timedelta(hours=2), cal) == dt.timedelta(hours=2)
    assert working_time_between(far, far + dt.timedelta(hours=2), cal) == walked_between(
        far, far + dt.timedelta(hours=2), cal
    )
    assert working_time_between(near, near + dt.timedelta(hours=2), cal) == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    "start, expected",
    [
        ("2026-11-26 12:30", "2026-11-26 13:30"),
        ("2026-11-26 09:00", "2026-11-26 09:00"),
        ("2026-11-28 10:00", "2026-11-30 08:30"),
    ],
)
def test_a_limit_too_small_to_count_ends_at_the_first_working_instant(start, expected):
    """5e-324 hours is no microsecond at all: the limit ends where counting would begin."""
    assert deadline(at(start), 5e-324, Clock.WORKING, calendar()) == at(expected)

"""The city's working calendar: which days are working days, and when work happens on them.

A day is a working day when, in this order of precedence:
1. it is a configured extra working day (local 调休) -> working;
2. it is a configured local holiday -> not working;
3. the official holiday source knows its year -> whatever it says (national
   holidays and national make-up working days);
4. otherwise -> its weekday is one of the working weekdays.

Official data is published a year at a time; a year the source does not know
falls back to rule 4, and the year is recorded in ``missing_years`` and logged
once, never raised to a caller.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)


class OfficialHolidays(Protocol):
    def is_working_day(self, day: dt.date) -> bool | None:
        """True/False when the year is known, None when the source has no data for it."""


class ChinaOfficialHolidays:
    """National holidays and make-up working days of the PRC, from the ``chinese-calendar`` package."""

    def is_working_day(self, day: dt.date) -> bool | None:
        import chinese_calendar

        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return None


OFFICIAL_SOURCES: dict[str, type[ChinaOfficialHolidays]] = {"CN": ChinaOfficialHolidays}


@dataclass(frozen=True)
class WorkingPeriod:
    starts: dt.time
    ends: dt.time


@dataclass
class WorkingCalendar:
    timezone: ZoneInfo
    periods: tuple[WorkingPeriod, ...]
    working_weekdays: frozenset[int]  # ISO: 1 = Monday … 7 = Sunday
    official: OfficialHolidays | None = None
    holidays: frozenset[dt.date] = frozenset()
    extra_working_days: frozenset[dt.date] = frozenset()
    missing_years: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _day_cache: dict[dt.date, bool] = field(default_factory=dict, repr=False, compare=False)
    _periods_cache: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # Deadlines and warning times computed on this calendar (valid for ever: the calendar never
    # changes). A batch of reports shares one start instant and a few limits, so most are repeats.
    _results: dict[tuple[object, ...], dt.datetime] = field(default_factory=dict, repr=False, compare=False)
    _worked: WorkedIndex | None = field(default=None, repr=False, compare=False)
    _index_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _periods_us: tuple[tuple[int, int], ...] = field(default=(), init=False, repr=False, compare=False)

    def remember(self, key: tuple[object, ...], compute: Callable[[], dt.datetime]) -> dt.datetime:
        """``compute()``, or what it gave before for ``key`` (at most 4,096 kept)."""
        found = self._results.get(key)
        if found is None:
            if len(self._results) >= 4096:
                self._results.clear()
            found = self._results[key] = compute()
        return found

    def __post_init__(self) -> None:
        self.periods = tuple(sorted(self.periods, key=lambda p: p.starts))
        for earlier, later in zip(self.periods, self.periods[1:], strict=False):
            if later.starts < earlier.ends:
                raise ValueError("working periods overlap")
        for period in self.periods:
            if period.ends <= period.starts:
                raise ValueError("a working period must end after it starts")
        self._periods_us = tuple((_of_day(p.starts), _of_day(p.ends)) for p in self.periods)

    def is_working_day(self, day: dt.date) -> bool:
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        result = self._decide(day)
        self._day_cache[day] = result
        return result

    def _decide(self, day: dt.date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.holidays:
            return False
        if self.official is not None:
            official = self.official.is_working_day(day)
            if official is not None:
                return official
            self._note_missing_year(day.year)
        return day.isoweekday() in self.working_weekdays

    def _note_missing_year(self, year: int) -> None:
        with self._lock:
            if year in self.missing_years:
                return
            self.missing_years.add(year)
        log.warning(
            "official holiday data has no entry for %d; counting working weekdays and local holidays only",
            year,
        )

    def worked_index(self, first: dt.date, last: dt.date) -> WorkedIndex:
        """An index of the working time before each day, covering ``first`` to the end of ``last``.

        Kept and extended as days are asked for, so that the working time between two instants, or
        the day a limit runs out, is a subtraction or a bisection instead of a walk over every day in
        between (a suspension may span months). Extended under the lock; an index once returned is
        only appended to, so a reader holding it is never disturbed (nor one reading it unlocked
        when it already covers the days asked for: the common case, a few times per deadline)."""
        index = self._worked
        if index is not None and index.origin <= first and (last - index.origin).days < len(index.before) - 1:
            return index
        with self._index_lock:
            index = self._worked
            if index is None or first < index.origin or (last - index.origin).days > MAX_INDEXED_DAYS:
                origin = first
                if index is not None and first < index.origin:
                    # A month further back than asked, so that cases read in no order of their
                    # start do not rebuild it for each day further back.
                    origin = min(first, index.origin - dt.timedelta(days=30))
                if (last - origin).days > MAX_INDEXED_DAYS:
                    origin = first
                index = self._worked = WorkedIndex(origin, self)
            index.extend_to((last - index.origin).days + 1)
            return index

    def periods_of_day(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """The working periods of ``day`` as microseconds from its midnight on the wall clock (none
        on a non-working day)."""
        return self._periods_us if self.is_working_day(day) else ()

    def periods_on(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The working periods of ``day`` as aware datetimes (none on a non-working day)."""
        cached = self._periods_cache.get(day)
        if cached is not None:
            return cached
        periods: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if self.is_working_day(day):
            periods = tuple(
                (
                    dt.datetime.combine(day, p.starts, tzinfo=self.timezone),
                    dt.datetime.combine(day, p.ends, tzinfo=self.timezone),
                )
                for p in self.periods
            )
        if len(self._periods_cache) > 20_000:  # bounded: a few decades of days
            self._periods_cache.clear()
        self._periods_cache[day] = periods
        return periods


MAX_INDEXED_DAYS = 50_000  # about 137 years: an index asked to span more starts afresh


class WorkedIndex:
    """``before[k]``: the working time, in microseconds, from the start of ``origin`` to the start of
    the ``k``-th day after it (so ``before[k + 1] - before[k]`` is that day's working time).

    Instants are counted in microseconds of the wall clock from ``origin``'s midnight, as the
    calendar's periods are (aware datetimes of one zone subtract and add on the wall clock), so
    that the working time up to an instant or the instant a total is reached is integer arithmetic
    on each day's periods."""

    def __init__(self, origin: dt.date, calendar: WorkingCalendar) -> None:
        self.origin = origin
        self.calendar = calendar
        self.midnight = dt.datetime.combine(origin, dt.time(), tzinfo=calendar.timezone)
        self.before = [0]
        self.days: list[tuple[tuple[int, int], ...]] = []  # each indexed day's periods

    def extend_to(self, k: int) -> None:
        while len(self.before) <= k:
            periods = self.calendar.periods_of_day(self.origin + dt.timedelta(days=len(self.days)))
            self.days.append(periods)
            self.before.append(self.before[-1] + sum(end - start for start, end in periods))

    def worked_by(self, at: dt.datetime) -> int:
        """Working time from the start of ``origin`` to ``at`` (in the calendar's zone, on a day the
        index covers)."""
        if at.tzinfo is not self.midnight.tzinfo:
            at = at.astimezone(self.calendar.timezone)
        wall = (at - self.midnight) // ONE_MICROSECOND
        k, into = divmod(wall, DAY_US)
        total = self.before[k]
        for start, end in self.days[k]:
            if into <= start:
                break
            total += (end if end < into else into) - start
        return total

    def instant_reaching(self, total: int, *, from_day: dt.date) -> dt.datetime | None:
        """The earliest instant on or after ``from_day`` by which ``total`` working time has passed
        since ``origin``; None when the index ends first (``total`` must exceed what has passed by the
        start of ``from_day``)."""
        indexed = len(self.before)  # read once: another thread may extend the index meanwhile
        k = bisect_left(self.before, total, lo=(from_day - self.origin).days + 1, hi=indexed)
        if k == indexed:
            return None
        passed = self.before[k - 1]
        for start, end in self.days[k - 1]:
            if passed + end - start >= total:
                return self.midnight + dt.timedelta(microseconds=(k - 1) * DAY_US + start + total - passed)
            passed += end - start
        raise AssertionError("the day's periods hold less working time than the index says")


def _of_day(moment: dt.time) -> int:
    """Microseconds from midnight to ``moment``."""
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


ONE_MICROSECOND = dt.timedelta(microseconds=1)
DAY_US = 86_400_000_000

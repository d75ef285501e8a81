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

"""The escalation ladder (督办): how far past its deadline a case goes up to whom, each rung on its clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grid_service.domain.calendar import WorkingCalendar
from grid_service.domain.deadlines import Clock, working_time_before


@dataclass(frozen=True, slots=True)
class Rung:
    level: int
    after_hours: float  # past the deadline, on the rung's clock
    name: str  # the level the case goes up to
    clock: Clock = Clock.NATURAL

    def threshold(self, now: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
        """The latest deadline that is ``after_hours`` past by ``now`` on this rung's clock."""
        amount = dt.timedelta(hours=self.after_hours)
        if self.clock is Clock.NATURAL or amount <= dt.timedelta():
            return now - amount
        return working_time_before(now, amount, calendar)

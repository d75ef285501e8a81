"""Step limits of the supervision center (SPEC §10): how long a case may wait for a person.

上报→受理: a reported case waits for a receiver to file or void it; 立案→派遣: a filed case waits
for a dispatcher; a check task waits for its inspector. Each has a limit in natural minutes
(filing.toml [steps]); its light is yellow from 80 % of it and red past it, as a deadline's is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grid_service.domain.enums import CaseStatus, Light

YELLOW_FROM = 0.8


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # as case.step_overdue names it
    status: CaseStatus  # the status the case waits in


ACCEPT = Step("accept", CaseStatus.REPORTED)
DISPATCH = Step("dispatch", CaseStatus.PENDING_DISPATCH)
STEPS = {s.status.value: s for s in (ACCEPT, DISPATCH)}


@dataclass(frozen=True, slots=True)
class StepClock:
    due_at: dt.datetime
    warn_at: dt.datetime

    def light(self, now: dt.datetime) -> Light:
        if now >= self.due_at:
            return Light.RED
        return Light.YELLOW if now >= self.warn_at else Light.GREEN


def step_clock(status: str, since: dt.datetime | None, minutes: dict[str, float]) -> StepClock | None:
    """The step's limit for a case in ``status`` since ``since``; None when it waits in no step."""
    step = STEPS.get(status)
    if step is None or since is None:
        return None
    limit = dt.timedelta(minutes=minutes[step.name])
    return StepClock(since + limit, since + limit * YELLOW_FROM)


def task_clock(started_at: dt.datetime, due_at: dt.datetime) -> StepClock:
    """A check task's limit as a light: yellow from 80 % of the time from its (re-)assignment to its
    due time, red past it."""
    return StepClock(due_at, started_at + (due_at - started_at) * YELLOW_FROM)

"""Routing a case: the department, the recorded decision and the deadline, decided once for intake
and for a receiver filing a reported case (the same rules, the same record, the same clock); and
which inspector a check task goes to."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from grid_service.configuration.catalogue import CategoryConfig, ConditionConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db.tasks import NewTask
from grid_service.domain.deadlines import Clock, deadline
from grid_service.domain.enums import CaseStatus, PendingReason, TaskKind
from grid_service.domain.ids import uuid7
from grid_service.domain.lights import warning_at
from grid_service.domain.routing import choose_rule


@dataclass(frozen=True, slots=True)
class Routed:
    status: CaseStatus
    pending_reason: PendingReason | None
    department: str | None = None
    rule_id: int | None = None
    rule: dict[str, Any] | None = None  # the deciding rule as it was (kept if the rule is replaced)
    deadline_at: dt.datetime | None = None
    warn_at: dt.datetime | None = None
    accept_due_at: dt.datetime | None = None  # dispatched: the department signs for it by then

    @classmethod
    def waiting_for_a_receiver(cls) -> Routed:
        return cls(CaseStatus.REPORTED, None)

    def dispatch_data(self) -> dict[str, Any]:
        """A case.dispatched event's data, as intake writes it (intake_batch.sql)."""
        return {
            "department": self.department,
            "deadline_at": self.deadline_at.isoformat() if self.deadline_at else None,
            "routing_rule": self.rule,
        }


def route(
    snapshot: ConfigSnapshot,
    category: CategoryConfig,
    grid_code: str | None,
    *,
    placed: bool,
    urgent: bool,
    condition: ConditionConfig | None,
    now: dt.datetime,
) -> Routed:
    """Where a case goes now: dispatched with its deadline, or waiting for a dispatcher and why."""
    if grid_code is None:
        return Routed(CaseStatus.PENDING_DISPATCH, PendingReason.OUTSIDE_GRID if placed else PendingReason.NO_LOCATION)
    rule = choose_rule(snapshot.rules, category.code, grid_code)
    if rule is None:
        return Routed(CaseStatus.PENDING_DISPATCH, PendingReason.NO_RULE)
    due = deadline(now, category.limit_for(urgent, condition), category.clock, snapshot.calendar)
    due = due.replace(microsecond=0)  # whole seconds: what people read and promise
    return Routed(
        CaseStatus.DISPATCHED,
        None,
        department=rule.department,
        rule_id=rule.id,
        rule=rule.as_dict(),
        deadline_at=due,
        warn_at=warning_at(now, due, category.clock, snapshot.calendar),
        accept_due_at=sign_for_by(now, category.code, snapshot),
    )


def sign_for_by(dispatched_at: dt.datetime, category: str, snapshot: ConfigSnapshot) -> dt.datetime:
    """The sign-for limit (签收) of a dispatch, in working time: the category's acceptance_hours,
    else disputes.toml's."""
    configured = snapshot.categories.get(category)
    hours = (configured.acceptance_hours if configured else None) or snapshot.disputes.acceptance_hours
    return deadline(dispatched_at, hours, Clock.WORKING, snapshot.calendar).replace(microsecond=0)


def plan_check(
    kind: TaskKind, case_id: uuid.UUID, grid_code: str | None, snapshot: ConfigSnapshot, now: dt.datetime
) -> NewTask:
    """A new check task for the case: the inspector answering for its cell (None: the receivers'
    queue) and its limit (filing.toml's task_minutes, natural)."""
    due = (now + dt.timedelta(minutes=snapshot.filing.steps.task_minutes)).replace(microsecond=0)
    return NewTask(uuid7(), kind, case_id, snapshot.inspectors.responsible(grid_code), due)

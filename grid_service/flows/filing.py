"""Filing a reported case (SPEC §10): the receiver's choices checked against the filing standard,
then routed exactly as intake routes (flows/routing.route)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from grid_service.configuration.catalogue import CategoryConfig, ConditionConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db.case_changes import CaseChange
from grid_service.db.rows import LockedCase
from grid_service.domain.steps import step_clock
from grid_service.errors import ValidationFailed, field_error
from grid_service.flows.routing import Routed, route


@dataclass(frozen=True, slots=True)
class Filing:
    """What filing a reported case decides: its category, condition and urgency, and its routing."""

    category: CategoryConfig
    condition: ConditionConfig | None
    urgent: bool
    routed: Routed

    def change(self, row: LockedCase, now: dt.datetime) -> CaseChange:
        routed = self.routed
        return CaseChange(
            status=routed.status.value,
            pending_reason=routed.pending_reason.value if routed.pending_reason else None,
            department=routed.department,
            dispatched_at=now if routed.department else None,
            deadline_at=routed.deadline_at,
            warn_at=routed.warn_at,
            rework_count=row.rework_count,
            routing_rule_id=routed.rule_id,
            routing_rule=routed.rule,
            at=now,
            disputes=row.disputes._replace(accept_due_at=routed.accept_due_at),
            category=self.category.code,
            urgent=self.urgent,
            condition=self.condition.code if self.condition else None,
        )

    def data(self, row: LockedCase, minutes: dict[str, float]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "from": row.status,
            "category": self.category.code,
            "condition": self.condition.code if self.condition else None,
            "urgent": self.urgent,
            "pending_reason": self.routed.pending_reason.value if self.routed.pending_reason else None,
        }
        if self.category.code != row.category:
            data["previous_category"] = row.category
        step = step_clock(row.status, row.step_since, minutes)
        if step is not None:  # whether it was filed in time is judged against this (db/positions.py)
            data["step_due_at"] = step.due_at.isoformat()
        return data


def file_under(row: LockedCase, body: Any, snapshot: ConfigSnapshot, now: dt.datetime) -> Filing:
    """Check the receiver's choices against the filing standard, then route as intake does."""
    code = body.category or row.category
    category = snapshot.categories.get(code)
    if category is None:
        raise ValidationFailed(
            f"unknown category {code!r}", details=[field_error(["category"], "unknown category", "unknown_category")]
        )
    condition = None
    if body.condition is not None or category.conditions:
        condition = category.condition(body.condition)
        if condition is None:
            known = ", ".join(c.code for c in category.conditions) or "none"
            message = (
                f"unknown condition {body.condition!r} for {category.code} (its conditions: {known})"
                if body.condition is not None
                else f"{category.code} is filed under one of its conditions: {known}"
            )
            raise ValidationFailed(message, details=[field_error(["condition"], message, "unknown_condition")])
    urgent = row.urgent if body.urgent is None else body.urgent
    routed = route(snapshot, category, row.grid_code, placed=row.placed, urgent=urgent, condition=condition, now=now)
    return Filing(category, condition, urgent, routed)

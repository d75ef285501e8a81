"""The case state machine (SPEC §3) as a pure table.

pending_dispatch --dispatch--> dispatched --accept--> in_progress --resolve--> resolved --verify(passed)--> closed
dispatched / in_progress --reject--> pending_dispatch
resolved --verify(failed)--> in_progress (rework)
any state but closed/cancelled --cancel--> cancelled

A re-dispatch (dispatched → dispatched, to another department or the same) starts a new deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from grid_service.schemas import CaseStatus

S = CaseStatus


class Action(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RESOLVE = "resolve"
    REJECT = "reject"
    VERIFY = "verify"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Transition:
    allowed_from: frozenset[CaseStatus]
    to: CaseStatus
    event: str


OPEN = frozenset({S.PENDING_DISPATCH, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED})

TRANSITIONS: dict[tuple[Action, bool | None], Transition] = {
    (Action.DISPATCH, None): Transition(frozenset({S.PENDING_DISPATCH, S.DISPATCHED}), S.DISPATCHED, "case.dispatched"),
    (Action.ACCEPT, None): Transition(frozenset({S.DISPATCHED}), S.IN_PROGRESS, "case.accepted"),
    (Action.RESOLVE, None): Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED, "case.resolved"),
    (Action.REJECT, None): Transition(frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.PENDING_DISPATCH, "case.rejected"),
    (Action.VERIFY, True): Transition(frozenset({S.RESOLVED}), S.CLOSED, "case.closed"),
    (Action.VERIFY, False): Transition(frozenset({S.RESOLVED}), S.IN_PROGRESS, "case.reopened"),
    (Action.CANCEL, None): Transition(OPEN, S.CANCELLED, "case.cancelled"),
}


class InvalidTransition(Exception):
    def __init__(self, action: Action, current: CaseStatus) -> None:
        super().__init__(f"cannot {action.value} a case that is {current.value}")
        self.action = action
        self.current = current


def transition(action: Action, current: CaseStatus, *, passed: bool | None = None) -> Transition:
    """The transition ``action`` makes from ``current``; InvalidTransition when the machine forbids it.

    ``passed`` is the verification result and matters only for ``verify``.
    """
    rule = TRANSITIONS[(action, passed if action is Action.VERIFY else None)]
    if current not in rule.allowed_from:
        raise InvalidTransition(action, current)
    return rule

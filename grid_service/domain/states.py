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

from grid_service.domain.enums import CaseStatus, EventType

S = CaseStatus
E = EventType


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
    event: EventType


OPEN = frozenset({S.PENDING_DISPATCH, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED})

TRANSITIONS: dict[tuple[Action, bool | None], Transition] = {
    (Action.DISPATCH, None): Transition(frozenset({S.PENDING_DISPATCH, S.DISPATCHED}), S.DISPATCHED, E.DISPATCHED),
    (Action.ACCEPT, None): Transition(frozenset({S.DISPATCHED}), S.IN_PROGRESS, E.ACCEPTED),
    (Action.RESOLVE, None): Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED, E.RESOLVED),
    (Action.REJECT, None): Transition(frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.PENDING_DISPATCH, E.REJECTED),
    (Action.VERIFY, True): Transition(frozenset({S.RESOLVED}), S.CLOSED, E.CLOSED),
    (Action.VERIFY, False): Transition(frozenset({S.RESOLVED}), S.IN_PROGRESS, E.REOPENED),
    (Action.CANCEL, None): Transition(OPEN, S.CANCELLED, E.CANCELLED),
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

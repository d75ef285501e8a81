"""The case state machine (SPEC §3, §10) as a pure table.

reported --file--> dispatched (routed) | pending_dispatch (no rule, outside the grid)
reported --void--> voided
reported --request-check--> reported (a check task opens)
pending_dispatch --dispatch--> dispatched --accept--> in_progress --resolve--> resolved --verify(passed)--> closed
dispatched / in_progress --reject--> pending_dispatch
resolved --verify(failed)--> in_progress (rework)
any open state --cancel--> cancelled

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
    FILE = "file"
    VOID = "void"
    REQUEST_CHECK = "request-check"


@dataclass(frozen=True, slots=True)
class Transition:
    allowed_from: frozenset[CaseStatus]
    to: CaseStatus
    event: EventType


OPEN = frozenset({S.REPORTED, S.PENDING_DISPATCH, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED})
FINISHED = frozenset({S.CLOSED, S.CANCELLED, S.VOIDED})

TRANSITIONS: dict[tuple[Action, bool | None], Transition] = {
    (Action.DISPATCH, None): Transition(frozenset({S.PENDING_DISPATCH, S.DISPATCHED}), S.DISPATCHED, E.DISPATCHED),
    (Action.ACCEPT, None): Transition(frozenset({S.DISPATCHED}), S.IN_PROGRESS, E.ACCEPTED),
    (Action.RESOLVE, None): Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED, E.RESOLVED),
    (Action.REJECT, None): Transition(frozenset({S.DISPATCHED, S.IN_PROGRESS}), S.PENDING_DISPATCH, E.REJECTED),
    (Action.VERIFY, True): Transition(frozenset({S.RESOLVED}), S.CLOSED, E.CLOSED),
    (Action.VERIFY, False): Transition(frozenset({S.RESOLVED}), S.IN_PROGRESS, E.REOPENED),
    (Action.CANCEL, None): Transition(OPEN, S.CANCELLED, E.CANCELLED),
    (Action.FILE, True): Transition(frozenset({S.REPORTED}), S.DISPATCHED, E.FILED),
    (Action.FILE, False): Transition(frozenset({S.REPORTED}), S.PENDING_DISPATCH, E.FILED),
    (Action.VOID, None): Transition(frozenset({S.REPORTED}), S.VOIDED, E.VOIDED),
    # An inspector is sent to see whether the reported problem is real; the case keeps waiting.
    (Action.REQUEST_CHECK, None): Transition(frozenset({S.REPORTED}), S.REPORTED, E.CHECK_REQUESTED),
}
# The actions whose outcome picks the target: verify (passed or not), file (routed or not).
DECIDED = frozenset({Action.VERIFY, Action.FILE})


class InvalidTransition(Exception):
    def __init__(self, action: Action, current: CaseStatus) -> None:
        super().__init__(f"cannot {action.value} a case that is {current.value}")
        self.action = action
        self.current = current


def transition(action: Action, current: CaseStatus, *, outcome: bool | None = None) -> Transition:
    """The transition ``action`` makes from ``current``; InvalidTransition when the machine forbids it.

    ``outcome`` matters only for the DECIDED actions: whether a check passed, whether routing found
    a department for a filed case.
    """
    rule = TRANSITIONS[(action, bool(outcome) if action in DECIDED else None)]
    if current not in rule.allowed_from:
        raise InvalidTransition(action, current)
    return rule

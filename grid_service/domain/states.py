"""The case state machine (SPEC §3, §10) as a pure table.

reported --file--> dispatched (routed) | pending_dispatch (no rule, outside the grid)
reported --void--> voided
reported --request-check--> reported (a check task opens)
pending_dispatch --dispatch--> dispatched --accept--> in_progress --resolve--> resolved --verify(passed)--> closed
dispatched / in_progress --reject--> pending_dispatch
resolved --verify(failed)--> in_progress (rework)
any open state --cancel--> cancelled
dispatched / in_progress --reject (returned too often)--> arbitration --rule--> dispatched (binding)
dispatched / in_progress --suspension approved--> suspended --resume--> dispatched / in_progress

A re-dispatch (dispatched → dispatched, to another department or the same) starts a new deadline.
Requests (an extension, a suspension, 督办 and its reply, an appeal and its review) keep the status:
their table entries say from which statuses they may be made.
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
    RULE = "rule"
    REQUEST_EXTENSION = "extension"
    DECIDE_EXTENSION = "extension/decide"
    REQUEST_SUSPENSION = "suspension"
    DECIDE_SUSPENSION = "suspension/decide"
    RESUME = "resume"
    SUPERVISE = "supervise"
    REPLY_SUPERVISION = "supervise/reply"
    APPEAL = "appeal"
    REVIEW_APPEAL = "appeal/review"


@dataclass(frozen=True, slots=True)
class Transition:
    allowed_from: frozenset[CaseStatus]
    to: CaseStatus | None  # None: the status stays (a request)
    event: EventType


@dataclass(frozen=True, slots=True)
class Move:
    """What an allowed action does to a case: its status after, and the event that records it."""

    to: CaseStatus
    event: EventType


OPEN = frozenset({S.REPORTED, S.PENDING_DISPATCH, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.ARBITRATION, S.SUSPENDED})
HANDLING = frozenset({S.DISPATCHED, S.IN_PROGRESS})  # a department holds it and its clock runs
FINISHED = frozenset({S.CLOSED, S.CANCELLED, S.VOIDED})

TRANSITIONS: dict[tuple[Action, bool | None], Transition] = {
    (Action.DISPATCH, None): Transition(frozenset({S.PENDING_DISPATCH, S.DISPATCHED}), S.DISPATCHED, E.DISPATCHED),
    (Action.ACCEPT, None): Transition(frozenset({S.DISPATCHED}), S.IN_PROGRESS, E.ACCEPTED),
    (Action.RESOLVE, None): Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED, E.RESOLVED),
    # A return goes back to the dispatcher, or (returned once too often) to arbitration.
    (Action.REJECT, False): Transition(HANDLING, S.PENDING_DISPATCH, E.REJECTED),
    (Action.REJECT, True): Transition(HANDLING, S.ARBITRATION, E.REJECTED),
    (Action.RULE, None): Transition(frozenset({S.ARBITRATION}), S.DISPATCHED, E.RULED),
    (Action.VERIFY, True): Transition(frozenset({S.RESOLVED}), S.CLOSED, E.CLOSED),
    (Action.VERIFY, False): Transition(frozenset({S.RESOLVED}), S.IN_PROGRESS, E.REOPENED),
    (Action.CANCEL, None): Transition(OPEN, S.CANCELLED, E.CANCELLED),
    (Action.FILE, True): Transition(frozenset({S.REPORTED}), S.DISPATCHED, E.FILED),
    (Action.FILE, False): Transition(frozenset({S.REPORTED}), S.PENDING_DISPATCH, E.FILED),
    (Action.VOID, None): Transition(frozenset({S.REPORTED}), S.VOIDED, E.VOIDED),
    # An inspector is sent to see whether the reported problem is real; the case keeps waiting.
    (Action.REQUEST_CHECK, None): Transition(frozenset({S.REPORTED}), S.REPORTED, E.CHECK_REQUESTED),
    (Action.REQUEST_EXTENSION, None): Transition(HANDLING, None, E.EXTENSION_REQUESTED),
    (Action.DECIDE_EXTENSION, True): Transition(HANDLING, None, E.EXTENSION_DECIDED),
    (Action.DECIDE_EXTENSION, False): Transition(HANDLING, None, E.EXTENSION_DECIDED),
    (Action.REQUEST_SUSPENSION, None): Transition(HANDLING, None, E.SUSPENSION_REQUESTED),
    (Action.DECIDE_SUSPENSION, True): Transition(HANDLING, S.SUSPENDED, E.SUSPENSION_DECIDED),
    (Action.DECIDE_SUSPENSION, False): Transition(HANDLING, None, E.SUSPENSION_DECIDED),
    # A suspended case resumes to where it was: accepted (True) or not yet (False).
    (Action.RESUME, True): Transition(frozenset({S.SUSPENDED}), S.IN_PROGRESS, E.RESUMED),
    (Action.RESUME, False): Transition(frozenset({S.SUSPENDED}), S.DISPATCHED, E.RESUMED),
    (Action.SUPERVISE, None): Transition(HANDLING | {S.SUSPENDED}, None, E.SUPERVISED),
    (Action.REPLY_SUPERVISION, None): Transition(HANDLING | {S.SUSPENDED, S.RESOLVED}, None, E.SUPERVISION_REPLIED),
    (Action.APPEAL, None): Transition(frozenset({S.CLOSED}), None, E.APPEALED),
    (Action.REVIEW_APPEAL, True): Transition(frozenset({S.CLOSED}), None, E.APPEAL_REVIEWED),
    (Action.REVIEW_APPEAL, False): Transition(frozenset({S.CLOSED}), None, E.APPEAL_REVIEWED),
}
# The actions whose outcome picks the target: verify (passed or not), file (routed or not), reject
# (to arbitration or not), a decision (approved or not), resume (to in_progress or not).
DECIDED = frozenset(
    {
        Action.VERIFY,
        Action.FILE,
        Action.REJECT,
        Action.DECIDE_EXTENSION,
        Action.DECIDE_SUSPENSION,
        Action.RESUME,
        Action.REVIEW_APPEAL,
    }
)


class InvalidTransition(Exception):
    def __init__(self, action: Action, current: CaseStatus) -> None:
        super().__init__(f"cannot {action.value} a case that is {current.value}")
        self.action = action
        self.current = current


def transition(action: Action, current: CaseStatus, *, outcome: bool | None = None) -> Move:
    """The transition ``action`` makes from ``current``; InvalidTransition when the machine forbids it.

    ``outcome`` matters only for the DECIDED actions: whether a check passed, whether routing found
    a department for a filed case, whether a return goes to arbitration, whether a request was
    approved, whether a suspended case had been accepted.
    """
    rule = TRANSITIONS[(action, bool(outcome) if action in DECIDED else None)]
    if current not in rule.allowed_from:
        raise InvalidTransition(action, current)
    return Move(rule.to if rule.to is not None else current, rule.event)

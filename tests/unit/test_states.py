import pytest

from grid_service.domain.states import DECIDED, Action, InvalidTransition, transition
from grid_service.schemas import CaseStatus as S

ALLOWED = [
    (Action.DISPATCH, S.PENDING_DISPATCH, None, S.DISPATCHED),
    (Action.DISPATCH, S.DISPATCHED, None, S.DISPATCHED),  # re-dispatch
    (Action.ACCEPT, S.DISPATCHED, None, S.IN_PROGRESS),
    (Action.RESOLVE, S.IN_PROGRESS, None, S.RESOLVED),
    (Action.REJECT, S.DISPATCHED, False, S.PENDING_DISPATCH),
    (Action.REJECT, S.IN_PROGRESS, False, S.PENDING_DISPATCH),
    (Action.REJECT, S.DISPATCHED, True, S.ARBITRATION),  # returned once too often
    (Action.REJECT, S.IN_PROGRESS, True, S.ARBITRATION),
    (Action.RULE, S.ARBITRATION, None, S.DISPATCHED),
    (Action.CANCEL, S.ARBITRATION, None, S.CANCELLED),
    (Action.CANCEL, S.SUSPENDED, None, S.CANCELLED),
    # requests keep the status
    *((Action.REQUEST_EXTENSION, s, None, s) for s in (S.DISPATCHED, S.IN_PROGRESS)),
    *((Action.DECIDE_EXTENSION, s, a, s) for s in (S.DISPATCHED, S.IN_PROGRESS) for a in (True, False)),
    *((Action.REQUEST_SUSPENSION, s, None, s) for s in (S.DISPATCHED, S.IN_PROGRESS)),
    (Action.DECIDE_SUSPENSION, S.DISPATCHED, True, S.SUSPENDED),
    (Action.DECIDE_SUSPENSION, S.IN_PROGRESS, True, S.SUSPENDED),
    (Action.DECIDE_SUSPENSION, S.DISPATCHED, False, S.DISPATCHED),
    (Action.DECIDE_SUSPENSION, S.IN_PROGRESS, False, S.IN_PROGRESS),
    (Action.RESUME, S.SUSPENDED, True, S.IN_PROGRESS),  # it had been accepted
    (Action.RESUME, S.SUSPENDED, False, S.DISPATCHED),
    *((Action.SUPERVISE, s, None, s) for s in (S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED)),
    *((Action.REPLY_SUPERVISION, s, None, s) for s in (S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED, S.RESOLVED)),
    (Action.APPEAL, S.CLOSED, None, S.CLOSED),
    (Action.REVIEW_APPEAL, S.CLOSED, True, S.CLOSED),
    (Action.REVIEW_APPEAL, S.CLOSED, False, S.CLOSED),
    (Action.VERIFY, S.RESOLVED, True, S.CLOSED),
    (Action.VERIFY, S.RESOLVED, False, S.IN_PROGRESS),
    (Action.CANCEL, S.PENDING_DISPATCH, None, S.CANCELLED),
    (Action.CANCEL, S.DISPATCHED, None, S.CANCELLED),
    (Action.CANCEL, S.IN_PROGRESS, None, S.CANCELLED),
    (Action.CANCEL, S.RESOLVED, None, S.CANCELLED),
    (Action.CANCEL, S.REPORTED, None, S.CANCELLED),
    (Action.FILE, S.REPORTED, True, S.DISPATCHED),  # routed
    (Action.FILE, S.REPORTED, False, S.PENDING_DISPATCH),  # no rule, outside the grid
    (Action.VOID, S.REPORTED, None, S.VOIDED),
    (Action.REQUEST_CHECK, S.REPORTED, None, S.REPORTED),
]


@pytest.mark.parametrize("action, current, passed, expected", ALLOWED)
def test_allowed_transitions(action, current, passed, expected):
    assert transition(action, current, outcome=passed).to is expected


def all_cases():
    allowed = {(a, c, p) for a, c, p, _ in ALLOWED}
    for action in Action:
        for passed in [True, False] if action in DECIDED else [None]:
            for current in S:
                if (action, current, passed) not in allowed:
                    yield action, current, passed


@pytest.mark.parametrize("action, current, passed", list(all_cases()))
def test_everything_else_is_refused_with_the_current_state(action, current, passed):
    with pytest.raises(InvalidTransition) as err:
        transition(action, current, outcome=passed)
    assert err.value.current is current

"""Bad input on every dispute route (SPEC §11): its role rule, another department's case, the wrong
state, a second open request, hours that are no time, an until past a year; each answered with the
error envelope, and none of them writes anything."""

import datetime as dt

import pytest

from grid_service.domain.enums import Role
from grid_service.domain.states import Action
from grid_service.flows.casework import ACTORS
from tests.api.helpers import IN_CELL_1, Clock, report
from tests.api.test_deadline_watch import MONDAY_9, workers
from tests.api.test_disputes import act, created, ok, spot
from tests.conftest import bearer, make_token

LATER = (MONDAY_9 + dt.timedelta(days=3)).isoformat()
BODIES = {
    Action.RULE: {"department": "urban_management", "fault": "none", "note": "x"},
    Action.REQUEST_EXTENSION: {"reason": "x"},
    Action.DECIDE_EXTENSION: {"approve": True},
    Action.REQUEST_SUSPENSION: {"until": LATER, "reason": "legal", "note": "x"},
    Action.DECIDE_SUSPENSION: {"approve": True},
    Action.RESUME: {},
    Action.SUPERVISE: {"level": "urge", "note": "x", "reply_hours": 4},
    Action.REPLY_SUPERVISION: {"note": "x"},
    Action.APPEAL: {"note": "x"},
    Action.REVIEW_APPEAL: {"approve": True},
}
ROLES = ("inspector", "dispatcher", "viewer", "receiver", "shift_lead", "department")


@pytest.fixture
async def app(db_url):
    async with workers(db_url, Clock(MONDAY_9), count=1) as (client,):
        yield client


async def written(db, case_id):
    """What a refused request must leave as it was: the case's row version and its events."""
    version = await db.fetchval("SELECT xmin::text FROM cases WHERE id = $1::uuid", case_id)
    events = await db.fetchval("SELECT count(*) FROM events WHERE case_id = $1::uuid", case_id)
    return version, events


async def refused(app, db, token, case_id, action, body, status, code=None):
    before = await written(db, case_id)
    answer_status, answer = await act(app, token, case_id, action, body)
    assert answer_status == status, (action, answer)
    assert set(answer) == {"error"} and {"code", "message", "details"} <= set(answer["error"]), answer
    if code is not None:
        assert answer["error"]["code"] == code, (action, answer)
    assert await written(db, case_id) == before, f"{action}: nothing written"
    return answer


async def test_each_dispute_route_refuses_every_role_its_rule_leaves_out(app, tokens, db):
    case_id = await created(app, tokens)
    checked = 0
    for action, body in BODIES.items():
        for role in ROLES:
            if Role(role) in ACTORS[action]:
                continue
            await refused(app, db, tokens[role], case_id, action.value, body, 403, "forbidden")
            checked += 1
    assert checked >= 30, "most roles are left out of most disputes"


async def test_another_departments_case_is_not_found_for_a_departments_dispute(app, tokens, db):
    case_id = await created(app, tokens)  # urban_management's
    other = tokens["department:street_office"]
    for action in (Action.REQUEST_EXTENSION, Action.REQUEST_SUSPENSION, Action.RESUME, Action.APPEAL):
        await refused(app, db, other, case_id, action.value, BODIES[action], 404, "not_found")
    await ok(app, tokens["dispatcher"], case_id, "supervise", BODIES[Action.SUPERVISE])
    await refused(app, db, other, case_id, "supervise/reply", BODIES[Action.REPLY_SUPERVISION], 404, "not_found")


async def test_a_dispute_on_the_wrong_state_is_409(app, tokens, db):
    case_id = await created(app, tokens)  # dispatched, nothing asked for
    for action, token, code in (
        (Action.RULE, "shift_lead", "invalid_transition"),  # not in arbitration
        (Action.DECIDE_EXTENSION, "shift_lead", "no_request"),
        (Action.DECIDE_SUSPENSION, "shift_lead", "no_request"),
        (Action.RESUME, "department", "invalid_transition"),  # not suspended
        (Action.REPLY_SUPERVISION, "department", "no_supervision"),
        (Action.APPEAL, "department", "invalid_transition"),  # not closed
        (Action.REVIEW_APPEAL, "shift_lead", "invalid_transition"),  # not closed
    ):
        await refused(app, db, tokens[token], case_id, action.value, BODIES[action], 409, code)
    # Suspended: the clock stands still and no handling and no further request is taken.
    await ok(app, tokens["department"], case_id, "suspension", BODIES[Action.REQUEST_SUSPENSION])
    await ok(app, tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
    for action, body in ((Action.REQUEST_EXTENSION, {"reason": "x"}), (Action.APPEAL, {"note": "x"})):
        await refused(app, db, tokens["department"], case_id, action.value, body, 409)
    await refused(app, db, tokens["department"], case_id, "resolve", {"note": "done"}, 409, "invalid_transition")


async def test_a_second_open_request_of_either_kind_is_409(app, tokens, db):
    case_id = await created(app, tokens, point=spot(0))
    await ok(app, tokens["department"], case_id, "extension", {"reason": "rain"})
    for action in (Action.REQUEST_EXTENSION, Action.REQUEST_SUSPENSION):
        department = tokens["department"]
        answer = await refused(app, db, department, case_id, action.value, BODIES[action], 409, "request_open")
        assert answer["error"]["details"] == [{"open": "extension"}]
    other = await created(app, tokens, point=spot(6))
    await ok(app, tokens["department"], other, "suspension", BODIES[Action.REQUEST_SUSPENSION])
    answer = await refused(app, db, tokens["department"], other, "extension", {"reason": "x"}, 409, "request_open")
    assert answer["error"]["details"] == [{"open": "suspension"}]


@pytest.mark.parametrize("hours", [0, -1, 0.0])
async def test_supervision_with_no_time_to_answer_is_422(app, tokens, db, hours):
    case_id = await created(app, tokens)
    body = {**BODIES[Action.SUPERVISE], "reply_hours": hours}
    answer = await refused(app, db, tokens["dispatcher"], case_id, "supervise", body, 422, "validation_failed")
    assert answer["error"]["details"][0]["path"] == ["reply_hours"]


async def test_a_suspension_until_more_than_a_year_away_is_422_and_a_year_is_not(app, tokens, db):
    """From Monday 23 November 2026, 366 days is 24 November 2027: a day more than a year."""
    case_id = await created(app, tokens)
    for until in (MONDAY_9 + dt.timedelta(days=366), MONDAY_9 + dt.timedelta(days=365, seconds=1), MONDAY_9):
        body = {**BODIES[Action.REQUEST_SUSPENSION], "until": until.isoformat()}
        answer = await refused(app, db, tokens["department"], case_id, "suspension", body, 422, "validation_failed")
        assert answer["error"]["details"][0]["type"] == "until_out_of_range", answer
    a_year = {**BODIES[Action.REQUEST_SUSPENSION], "until": MONDAY_9.replace(year=2027).isoformat()}
    asked = await ok(app, tokens["department"], case_id, "suspension", a_year)
    assert asked["open_request"]["kind"] == "suspension"


async def test_hours_running_past_the_working_calendar_are_422(app, tokens, db):
    """8,000 working hours are about four years of working days, past the three years a limit is
    counted over: the request is refused naming its field, not answered 500."""
    housing = await make_token(db, "department", "housing")
    posted = await app.post(
        "/api/v1/reports", json=report("construction_dust", IN_CELL_1), headers=bearer(tokens["inspector"])
    )
    case_id = (await posted.json())["case_id"]  # housing's, on the working clock
    for action, body, field in (
        ("extension", {"reason": "x", "hours": 8000}, "hours"),
        ("supervise", {**BODIES[Action.SUPERVISE], "reply_hours": 8000}, "reply_hours"),
    ):
        token = housing if action == "extension" else tokens["dispatcher"]
        answer = await refused(app, db, token, case_id, action, body, 422, "validation_failed")
        assert (
            answer["error"]["details"][0]["path"] == [field]
            and answer["error"]["details"][0]["type"] == "beyond_calendar"
        )

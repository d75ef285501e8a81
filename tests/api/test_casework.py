"""The working life of a case: actions, roles, scoping, audit trail, races."""

import asyncio
import datetime as dt

import pytest

from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, IN_STREET_3, report, upload_photo
from tests.conftest import bearer


async def new_case(client, tokens, category="illegal_construction", point=IN_CELL_1):
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"]))
    return (await response.json())["case_id"]


async def act(client, token, case_id, action, body=None):
    response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body or {}, headers=bearer(token))
    return response.status, await response.json()


async def event_count(db):
    return await db.fetchval("SELECT count(*) FROM events")


async def test_a_case_goes_from_dispatch_to_closure_with_every_step_recorded(client, tokens):
    case_id = await new_case(client, tokens)
    status, case = await act(client, tokens["department"], case_id, "accept", {"note": "on our way"})
    assert status == 200, case
    assert case["status"] == "in_progress"
    photo = await upload_photo(client, tokens["department"])
    status, case = await act(client, tokens["department"], case_id, "resolve", {"note": "removed", "media": [photo]})
    assert (status, case["status"]) == (200, "resolved")
    status, case = await act(client, tokens["inspector"], case_id, "verify", {"passed": True, "note": "checked"})
    assert (status, case["status"]) == (200, "closed")
    history = case["history"]
    assert [e["type"] for e in history] == [
        "case.created",
        "case.dispatched",
        "case.accepted",
        "case.resolved",
        "case.check_requested",  # resolving sends an inspector to check it (核查)
        "case.closed",
        "case.check_completed",  # verifying answers that check
    ]
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    assert history[2]["note"] == "on our way" and history[2]["actor"].startswith("department:")
    assert history[3]["data"]["media"] == [photo] and history[3]["data"]["on_time"] is True
    assert history[5]["data"] == {"from": "resolved", "passed": True, "on_time": True}
    assert case["light"] is None and case["overdue"] is False


async def test_failed_verification_is_rework_and_keeps_the_deadline(client, tokens):
    case_id = await new_case(client, tokens)
    await act(client, tokens["department"], case_id, "accept")
    _, resolved = await act(client, tokens["department"], case_id, "resolve")
    status, reopened = await act(
        client, tokens["inspector"], case_id, "verify", {"passed": False, "note": "still there"}
    )
    assert (status, reopened["status"], reopened["rework_count"]) == (200, "in_progress", 1)
    assert reopened["deadline_at"] == resolved["deadline_at"]
    assert [e["type"] for e in reopened["history"]][-2:] == ["case.reopened", "case.check_completed"]
    await act(client, tokens["department"], case_id, "resolve")
    _, closed = await act(client, tokens["inspector"], case_id, "verify", {"passed": True})
    assert closed["status"] == "closed" and closed["rework_count"] == 1


async def test_a_rejected_case_returns_to_the_dispatcher_and_is_redispatched_with_a_new_deadline(client, tokens):
    case_id = await new_case(client, tokens, "outdoor_barbecue")
    status, rejected = await act(
        client, tokens["department"], case_id, "reject", {"reason": "not_our_responsibility", "note": "private land"}
    )
    assert (status, rejected["status"], rejected["pending_reason"]) == (200, "pending_dispatch", "rejected")
    assert rejected["department"] is None and rejected["deadline_at"] is None
    assert rejected["history"][-1]["data"] == {
        "from": "dispatched",
        "reason": "not_our_responsibility",
        "department": "urban_management",
        "arbitration": False,  # its first return: back to the dispatcher
    }
    gone = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["department"]))
    assert gone.status == 404, "the department no longer holds it"

    status, dispatched = await act(client, tokens["dispatcher"], case_id, "dispatch", {"department": "street_office"})
    assert (status, dispatched["status"], dispatched["department"]["code"]) == (200, "dispatched", "street_office")
    assert dispatched["routing_rule"]["manual"] is True
    deadline = dt.datetime.fromisoformat(dispatched["deadline_at"])
    assert dt.timedelta(hours=1, minutes=59) < deadline - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=2)
    seen = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["department:street_office"]))
    assert seen.status == 200


async def test_the_dispatcher_routes_what_could_not_be_routed(client, tokens):
    response = await client.post(
        "/api/v1/reports", json=report("exposed_garbage", IN_STREET_3), headers=bearer(tokens["inspector"])
    )
    case_id = (await response.json())["case_id"]
    status, error = await act(client, tokens["dispatcher"], case_id, "dispatch", {"department": "parks"})
    assert status == 422 and error["error"]["details"][0]["path"] == ["department"]
    status, case = await act(client, tokens["dispatcher"], case_id, "dispatch", {"department": "sanitation"})
    assert (status, case["status"], case["pending_reason"]) == (200, "dispatched", None)
    assert case["deadline_at"] is not None


@pytest.mark.parametrize(
    "steps, action, body, current",
    [
        ([], "resolve", {}, "dispatched"),
        ([], "verify", {"passed": True}, "dispatched"),
        (["accept"], "accept", {}, "in_progress"),
        (["cancel"], "accept", {}, "cancelled"),
        (["cancel"], "cancel", {}, "cancelled"),
        (["accept", "resolve", "verify"], "cancel", {}, "closed"),
        (["accept", "resolve", "verify"], "reject", {"reason": "other", "note": "不是我们的"}, "closed"),
    ],
)
async def test_a_transition_the_machine_forbids_is_409_with_the_current_state(
    client, tokens, db, steps, action, body, current
):
    case_id = await new_case(client, tokens)
    who = {
        "accept": "department",
        "resolve": "department",
        "reject": "department",
        "dispatch": "dispatcher",
        "cancel": "dispatcher",
        "verify": "inspector",
    }
    for step in steps:
        status, _ = await act(client, tokens[who[step]], case_id, step, {"passed": True} if step == "verify" else {})
        assert status == 200
    before = await event_count(db)
    status, error = await act(client, tokens["admin"], case_id, action, body)
    assert status == 409
    assert error["error"]["code"] == "invalid_transition"
    assert error["error"]["details"] == [{"current_status": current}]
    assert await event_count(db) == before


async def test_another_department_cannot_see_or_act_on_a_case(client, tokens, db):
    case_id = await new_case(client, tokens)
    before = await event_count(db)
    for action, body in (("accept", {}), ("resolve", {}), ("reject", {"reason": "other", "note": "不是我们的"})):
        status, error = await act(client, tokens["department:street_office"], case_id, action, body)
        assert status == 404 and error["error"]["code"] == "not_found"
    assert await event_count(db) == before


@pytest.mark.parametrize(
    "action, body, path",
    [
        ("reject", {"reason": "bored", "note": "x"}, ["reason"]),
        ("reject", {"reason": "other"}, ["note"]),  # a return says why (SPEC §11)
        ("reject", {"reason": "other", "note": "  "}, ["note"]),
        ("reject", {}, ["reason"]),
        ("verify", {"passed": "yes"}, ["passed"]),
        ("resolve", {"media": ["xyz"]}, ["media", 0]),
        ("accept", {"note": "x" * 2001}, ["note"]),
        ("dispatch", {}, ["department"]),
    ],
)
async def test_bad_action_bodies_are_422_with_the_field(client, tokens, action, body, path):
    case_id = await new_case(client, tokens)
    status, error = await act(client, tokens["admin"], case_id, action, body)
    assert status == 422 and path in [d["path"] for d in error["error"]["details"]]


async def test_two_clerks_accepting_at_once_exactly_one_wins(client, tokens, db):
    case_id = await new_case(client, tokens)
    results = await asyncio.gather(*(act(client, tokens["department"], case_id, "accept") for _ in range(8)))
    assert sorted(status for status, _ in results) == [200] + [409] * 7
    assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'case.accepted'") == 1


async def test_accept_racing_cancel_leaves_a_history_that_explains_the_final_state(client, tokens, db):
    for _ in range(5):
        case_id = await new_case(client, tokens, point=IN_CELL_2)
        (accept, _), (cancel, _) = await asyncio.gather(
            act(client, tokens["department"], case_id, "accept"), act(client, tokens["dispatcher"], case_id, "cancel")
        )
        # Cancel is allowed after accept, accept is not allowed after cancel: so cancel always wins,
        # and accept wins too exactly when it came first.
        assert cancel == 200 and accept in (200, 409)
        history = [
            r["type"] for r in await db.fetch("SELECT type FROM events WHERE case_id = $1::uuid ORDER BY seq", case_id)
        ]
        expected_tail = ["case.accepted", "case.cancelled"] if accept == 200 else ["case.cancelled"]
        assert history[2:] == expected_tail
        assert await db.fetchval("SELECT status FROM cases WHERE id = $1::uuid", case_id) == "cancelled"


async def test_two_verifications_at_once_exactly_one_counts(client, tokens, db):
    case_id = await new_case(client, tokens)
    await act(client, tokens["department"], case_id, "accept")
    await act(client, tokens["department"], case_id, "resolve")
    results = await asyncio.gather(
        act(client, tokens["inspector"], case_id, "verify", {"passed": True}),
        act(client, tokens["inspector2"], case_id, "verify", {"passed": False}),
    )
    assert sorted(status for status, _ in results) == [200, 409]
    verdicts = await db.fetchval("SELECT count(*) FROM events WHERE type IN ('case.closed', 'case.reopened')")
    assert verdicts == 1


async def test_listing_filters_and_pages_without_repeats(client, tokens):
    ids = [await new_case(client, tokens, "illegal_construction", p) for p in (IN_CELL_1, IN_CELL_2, IN_STREET_2)]
    ids.append(await new_case(client, tokens, "exposed_garbage", IN_STREET_3))  # pending, no rule
    viewer = bearer(tokens["viewer"])

    async def listing(**params):
        response = await client.get("/api/v1/cases", params=params, headers=viewer)
        return response.status, await response.json()

    _, everything = await listing()
    assert [c["id"] for c in everything["cases"]] == list(reversed(ids)) and everything["next"] is None
    seen, cursor = [], None
    while True:
        _, page = await listing(limit=3, **({"after": cursor} if cursor else {}))
        seen += [c["id"] for c in page["cases"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert [c["id"] for c in (await listing(status="pending_dispatch"))[1]["cases"]] == [ids[3]]
    assert len((await listing(status="dispatched,pending_dispatch"))[1]["cases"]) == 4
    assert [c["id"] for c in (await listing(department="street_office"))[1]["cases"]] == [ids[2]]
    assert len((await listing(grid="230108001"))[1]["cases"]) == 2
    assert len((await listing(category="exposed_garbage"))[1]["cases"]) == 1
    assert [c["id"] for c in (await listing(bbox="126.60,45.600,126.61,45.605"))[1]["cases"]] == [ids[0]]
    assert (await listing(overdue="true"))[1]["cases"] == []
    assert len((await listing(overdue="false"))[1]["cases"]) == 4
    for bad, field in (
        ({"status": "lost"}, "status"),
        ({"after": "!!"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"bbox": "1,2"}, "bbox"),
    ):
        status, body = await listing(**bad)
        assert status == 422
        # each error names its own field: only a bad cursor is reported as one
        assert [d["path"][-1] for d in body["error"]["details"]] == [field], body


async def test_a_department_lists_only_its_own_cases(client, tokens):
    await new_case(client, tokens, "illegal_construction", IN_CELL_1)
    await new_case(client, tokens, "illegal_construction", IN_STREET_2)
    response = await client.get(
        "/api/v1/cases", params={"department": "street_office"}, headers=bearer(tokens["department"])
    )
    cases = (await response.json())["cases"]
    assert len(cases) == 1 and cases[0]["department"]["code"] == "urban_management"

"""Filing (SPEC §10): a reported case waits for a receiver, who files it (routed as intake routes)
or voids it; the filing standard's condition sets the limit."""

import asyncio
import datetime as dt

import pytest

from grid_service.app import utc_now
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, followed, report
from tests.api.test_deadline_watch import workers
from tests.api.test_open311 import BASE
from tests.conftest import bearer


async def reported(client, tokens, category="illegal_construction", point=IN_CELL_1, **extra):
    """A report a receiver registers from a leader's instruction: it waits for a receiver (filing
    policy review) with no check first."""
    response = await client.post(
        "/api/v1/reports", json=report(category, point, source="leader", **extra), headers=bearer(tokens["receiver"])
    )
    body = await response.json()
    assert response.status == 201, body
    assert body["status"] == "reported" and body["department"] is None and body["deadline_at"] is None
    return body["case_id"]


async def act(client, token, case_id, action, body):
    response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=bearer(token))
    return response.status, await response.json()


async def history(client, tokens, case_id):
    case = await (await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))).json()
    return case, [e["type"] for e in case["history"]]


async def test_a_reported_case_waits_for_a_receiver_then_is_routed_as_intake_routes(client, tokens):
    case_id = await reported(client, tokens)
    listed = await client.get("/api/v1/cases", params={"status": "reported"}, headers=bearer(tokens["receiver"]))
    assert [c["id"] for c in (await listed.json())["cases"]] == [case_id]
    status, case = await act(
        client, tokens["receiver"], case_id, "file", {"condition": "stop_work", "note": "现场在建"}
    )
    assert status == 200, case
    # The same rule and department an inspector's report of the same spot gets at intake.
    direct = await client.post("/api/v1/reports", json=report(point=IN_CELL_2), headers=bearer(tokens["inspector"]))
    direct_case, _ = await history(client, tokens, (await direct.json())["case_id"])
    assert case["status"] == "dispatched" and case["department"] == direct_case["department"]
    assert case["routing_rule"]["id"] == direct_case["routing_rule"]["id"]
    answered = case
    case, types = await history(client, tokens, case_id)
    assert answered == case, "the action's answer (read with its change) is the case as a later read shows it"
    assert types == ["case.created", "case.filed", "case.dispatched"]
    filed, dispatched = case["history"][1], case["history"][2]
    assert filed["actor"].startswith("receiver:") and filed["data"]["condition"] == "stop_work"
    assert dispatched["actor"] == "routing" and dispatched["data"]["routing_rule"]["id"] == case["routing_rule"]["id"]
    # stop_work has its own limit: 4 working hours, not the category's 37.5.
    dispatched_at = dt.datetime.fromisoformat(case["dispatched_at"])
    deadline_at = dt.datetime.fromisoformat(case["deadline_at"])
    assert deadline_at - dispatched_at <= dt.timedelta(days=2), "the condition's 4 working hours"
    assert deadline_at - dispatched_at >= dt.timedelta(hours=4)


async def test_filing_can_correct_the_category_and_the_urgency(client, tokens):
    case_id = await reported(client, tokens, category="construction_dust")
    status, case = await act(
        client, tokens["shift_lead"], case_id, "file", {"category": "exposed_garbage", "urgent": True}
    )
    assert status == 200, case
    assert case["category"]["code"] == "exposed_garbage" and case["urgent"] is True
    filed = case["history"][1]
    assert filed["data"]["previous_category"] == "construction_dust"


async def test_a_case_outside_the_grid_is_filed_to_the_dispatcher(client, tokens):
    case_id = await reported(client, tokens, category="construction_dust", point=FAR_AWAY)
    status, case = await act(client, tokens["receiver"], case_id, "file", {})
    assert status == 200, case
    assert case["status"] == "pending_dispatch" and case["pending_reason"] == "outside_grid"
    _, types = await history(client, tokens, case_id)
    assert types == ["case.created", "case.filed"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "is filed under one of its conditions: stop_work, demolish"),
        ({"condition": "paint_it"}, "unknown condition 'paint_it'"),
        ({"condition": "stop_work", "category": "pothole"}, "unknown category 'pothole'"),
        ({"condition": "Stop Work"}, None),  # not a code at all
    ],
)
async def test_a_filing_the_standard_does_not_allow_is_422_and_changes_nothing(client, tokens, db, body, message):
    case_id = await reported(client, tokens)
    status, answer = await act(client, tokens["receiver"], case_id, "file", body)
    assert status == 422, answer
    if message:
        assert message in answer["error"]["message"]
    assert await db.fetchval("SELECT status FROM cases WHERE id = $1", case_id) == "reported"
    assert await db.fetchval("SELECT count(*) FROM events WHERE case_id = $1", case_id) == 1


async def test_a_voided_case_leaves_the_map_and_is_closed_for_open311(client, tokens):
    case_id = await reported(client, tokens)
    status, case = await act(client, tokens["receiver"], case_id, "void", {"reason": "duplicate", "note": "同一处"})
    assert status == 200, case
    assert case["status"] == "voided" and case["history"][-1]["data"]["reason"] == "duplicate"
    shown = await (await client.get("/api/v1/map/cases", headers=bearer(tokens["viewer"]))).json()
    assert case_id not in [f["id"] for f in shown["features"]]
    open_ = await client.get("/api/v1/cases", params={"status": "open"}, headers=bearer(tokens["viewer"]))
    assert case_id not in [c["id"] for c in (await open_.json())["cases"]]
    [request] = await (await client.get(f"{BASE}/requests/{case['case_no']}.json")).json()
    assert request["status"] == "closed"


async def test_a_voided_case_is_not_filed_and_a_filed_case_is_not_voided(client, tokens):
    voided = await reported(client, tokens)
    assert (await act(client, tokens["receiver"], voided, "void", {"reason": "not_found"}))[0] == 200
    status, answer = await act(client, tokens["receiver"], voided, "file", {"condition": "stop_work"})
    assert status == 409 and answer["error"]["details"] == [{"current_status": "voided"}]
    filed = await reported(client, tokens, point=IN_CELL_2)
    assert (await act(client, tokens["receiver"], filed, "file", {"condition": "demolish"}))[0] == 200
    status, answer = await act(client, tokens["receiver"], filed, "void", {"reason": "invalid"})
    assert status == 409


async def test_only_receivers_shift_leads_and_admins_file_or_void(client, tokens):
    case_id = await reported(client, tokens)
    for role in ("inspector", "dispatcher", "department", "viewer", "channel"):
        status, answer = await act(client, tokens[role], case_id, "file", {"condition": "stop_work"})
        assert status == 403, (role, answer)
    assert (await act(client, tokens["admin"], case_id, "void", {"reason": "out_of_scope"}))[0] == 200


async def test_an_unknown_void_reason_is_422(client, tokens):
    case_id = await reported(client, tokens)
    status, answer = await act(client, tokens["receiver"], case_id, "void", {"reason": "bored"})
    assert status == 422 and answer["error"]["details"][0]["path"] == ["reason"]


async def test_auto_filing_takes_the_default_condition(client, tokens, db):
    response = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    answer = await response.json()
    assert answer["status"] == "dispatched"
    assert await db.fetchval("SELECT condition FROM cases WHERE id = $1", answer["case_id"]) == "demolish"


async def test_two_receivers_on_two_workers_filing_one_case_one_wins(db_url, db, tokens):
    async with workers(db_url, utc_now, count=2) as apps:
        for _ in range(5):
            case_id = await reported(apps[0], tokens, point=IN_CELL_1)
            results = await asyncio.gather(
                act(apps[0], tokens["receiver"], case_id, "file", {"condition": "stop_work"}),
                act(apps[1], tokens["shift_lead"], case_id, "file", {"condition": "demolish"}),
            )
            assert sorted(status for status, _ in results) == [200, 409]
            filed = await db.fetchval("SELECT count(*) FROM events WHERE case_id = $1 AND type = 'case.filed'", case_id)
            assert filed == 1
            # and filing against voiding: one of the two, never both
            other = await reported(apps[1], tokens, point=IN_CELL_2)
            results = await asyncio.gather(
                act(apps[0], tokens["receiver"], other, "file", {"condition": "stop_work"}),
                act(apps[1], tokens["shift_lead"], other, "void", {"reason": "duplicate"}),
            )
            assert sorted(status for status, _ in results) == [200, 409]
            status = await db.fetchval("SELECT status FROM cases WHERE id = $1", other)
            kinds = await db.fetch("SELECT type FROM events WHERE case_id = $1 ORDER BY seq", other)
            assert (status == "voided") == ("case.voided" in [k["type"] for k in kinds])
            assert not {"case.voided", "case.filed"} <= {k["type"] for k in kinds}


async def test_a_filed_case_keeps_its_conditions_limit_when_dispatched_by_hand(client, tokens):
    case_id = await reported(client, tokens, point=FAR_AWAY)  # outside the grid: filed to the dispatcher
    status, case = await act(client, tokens["receiver"], case_id, "file", {"condition": "stop_work"})
    assert (status, case["status"], case["condition"]) == (200, "pending_dispatch", "stop_work")
    status, case = await act(client, tokens["dispatcher"], case_id, "dispatch", {"department": "housing"})
    assert status == 200, case
    limit = dt.datetime.fromisoformat(case["deadline_at"]) - dt.datetime.fromisoformat(case["dispatched_at"])
    assert limit <= dt.timedelta(days=2), "stop_work's 4 working hours, not the category's 37.5"


async def test_an_inspectors_report_may_name_the_condition_it_is_filed_under(client, tokens, db):
    """illegal_construction's default is demolish (37.5 working hours); a construction going on now
    (stop_work) is filed under its own condition and its 4 working hours. A condition the category
    does not have is 422 and nothing is written; a retry of the same report matches."""
    body = report("illegal_construction", IN_CELL_1, condition="stop_work")
    first = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
    answer = await first.json()
    assert first.status == 201, answer
    case = await db.fetchrow("SELECT condition, deadline_at FROM cases WHERE id = $1::uuid", answer["case_id"])
    assert case["condition"] == "stop_work"
    default = await client.post(
        "/api/v1/reports", json=report("illegal_construction", IN_CELL_2), headers=bearer(tokens["inspector"])
    )
    other = await db.fetchrow(
        "SELECT condition, deadline_at FROM cases WHERE id = $1::uuid", (await default.json())["case_id"]
    )
    assert other["condition"] == "demolish"
    assert case["deadline_at"] < other["deadline_at"], "4 working hours, not 37.5"
    again = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
    assert again.status == 200 and (await again.json())["case_id"] == answer["case_id"]
    before = await db.fetchval("SELECT count(*) FROM reports")
    wrong = await client.post(
        "/api/v1/reports",
        json=report("illegal_construction", FAR_AWAY, condition="knock_down"),
        headers=bearer(tokens["inspector"]),
    )
    error = (await wrong.json())["error"]
    assert wrong.status == 422 and error["details"][0]["path"] == ["condition"], error
    assert await db.fetchval("SELECT count(*) FROM reports") == before


async def test_a_retry_of_a_stored_report_is_answered_even_after_its_category_was_stopped(db_url, db, tokens, tmp_path):
    """The first answer was lost; meanwhile the district stopped the category. The retry gets the
    case it made (200), not a refusal that would make a phone drop a report the service has."""
    from tests.conftest import FIXTURE_CONFIG, load_config_with

    body = report("construction_dust", IN_CELL_1)
    async with workers(db_url, utc_now, count=1, config_poll_s=0.05) as [client]:
        first = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
        assert first.status == 201
        categories = (FIXTURE_CONFIG / "categories.toml").read_text(encoding="utf-8")
        dust = categories.index('[[category]]\ncode = "construction_dust"')
        rules = (FIXTURE_CONFIG / "routing.toml").read_text(encoding="utf-8")
        stopped = {
            "categories.toml": categories[:dust] + categories[categories.index("[[category]]", dust + 1) :],
            "routing.toml": rules[: rules.index('[[rule]]\ncategory = "construction_dust"')],
        }
        await load_config_with(db, tmp_path / "config", stopped)
        await followed(client, lambda c: "construction_dust" not in c.categories)
        again = await client.post(
            "/api/v1/reports/batch", json={"reports": [body]}, headers=bearer(tokens["inspector"])
        )
        [result] = (await again.json())["results"]
        assert result["status_code"] == 200 and result["report"]["case_id"] == (await first.json())["case_id"]
        changed = {**body, "description": "not the same"}
        conflict = await client.post("/api/v1/reports", json=changed, headers=bearer(tokens["inspector"]))
        assert conflict.status == 409
        new = await client.post(
            "/api/v1/reports", json=report("construction_dust", IN_CELL_2), headers=bearer(tokens["inspector"])
        )
        assert new.status == 422 and (await new.json())["error"]["details"][0]["type"] == "unknown_category"

"""Self-disposal (自处置, SPEC §10): an inspector fixes a small problem on the spot and reports it
with a before and an after photo; the case is created closed and counts for no department."""

import datetime as dt

import pytest

from tests.api.helpers import IN_CELL_1, report, upload_photo
from tests.conftest import bearer


async def self_handled(client, token, **extra):
    before = await upload_photo(client, token)
    after = await upload_photo(client, token)
    body = report("outdoor_barbecue", IN_CELL_1, self_handled=True, media=[before], after_media=[after], **extra)
    response = await client.post("/api/v1/reports", json=body, headers=bearer(token))
    return response, before, after


async def test_a_self_handled_report_is_a_closed_case_of_no_department(client, tokens):
    response, before, after = await self_handled(client, tokens["inspector"])
    ack = await response.json()
    assert response.status == 201, ack
    assert (ack["status"], ack["department"], ack["deadline_at"], ack["duplicate"]) == ("closed", None, None, False)
    case = await (await client.get(f"/api/v1/cases/{ack['case_id']}", headers=bearer(tokens["viewer"]))).json()
    assert case["resolution"] == "self_handled" and case["department"] is None
    assert [e["type"] for e in case["history"]] == ["case.created", "case.closed"]
    assert case["history"][1]["data"]["self_handled"] is True and case["history"][1]["data"]["after_media"] == [after]
    assert case["reports"][0]["media"] == [before, after]
    # a second report of the same spot is not joined to the closed case
    again = await client.post(
        "/api/v1/reports", json=report("outdoor_barbecue", IN_CELL_1), headers=bearer(tokens["inspector"])
    )
    assert (await again.json())["case_id"] != ack["case_id"]


async def test_self_handled_cases_count_for_the_cell_and_never_for_a_department(client, tokens):
    response, _, _ = await self_handled(client, tokens["inspector"])
    assert response.status == 201
    today = dt.datetime.now(dt.UTC)
    period = {"from": (today - dt.timedelta(days=1)).isoformat(), "to": (today + dt.timedelta(days=1)).isoformat()}
    by_department = await (
        await client.get("/api/v1/stats", params={**period, "group_by": "department"}, headers=bearer(tokens["viewer"]))
    ).json()
    assert all(g["closed"] == 0 for g in by_department["groups"] if g["key"] is not None)
    by_cell = await (
        await client.get("/api/v1/stats", params={**period, "group_by": "grid"}, headers=bearer(tokens["viewer"]))
    ).json()
    [cell] = [g for g in by_cell["groups"] if g["key"] == "230108001001001"]
    assert cell["closed"] == 1 and cell["reported"] == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"self_handled": True},  # no photos
        {"self_handled": True, "media": ["a" * 64]},  # no after photo
        {"after_media": ["a" * 64]},  # after photos without self-handling
    ],
)
async def test_self_disposal_needs_both_photos(client, tokens, db, extra):
    before = await db.fetchval("SELECT count(*) FROM cases")
    response = await client.post(
        "/api/v1/reports", json=report("outdoor_barbecue", **extra), headers=bearer(tokens["inspector"])
    )
    assert response.status == 422, await response.text()
    assert await db.fetchval("SELECT count(*) FROM cases") == before


async def test_only_an_inspector_handles_a_problem_on_the_spot(client, tokens):
    response, _, _ = await self_handled(client, tokens["channel"])
    assert response.status == 422
    assert (await response.json())["error"]["details"][0]["type"] == "self_handling_not_allowed"


async def test_a_closed_case_after_its_check_is_handled(client, tokens):
    created = await client.post("/api/v1/reports", json=report("exposed_garbage"), headers=bearer(tokens["inspector"]))
    case_id = (await created.json())["case_id"]
    for action, who, body in (
        ("accept", "department", {}),
        ("resolve", "department", {}),
        ("verify", "inspector", {"passed": True}),
    ):
        response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=bearer(tokens[who]))
        assert response.status == 200, await response.text()
    assert (await response.json())["resolution"] == "handled"

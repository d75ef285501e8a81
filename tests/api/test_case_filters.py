"""The case list's filters the workbench's views and searches are made of: the light as the cases
show it (a deadline's or a step's), source, creation period, case number, open requests of any kind,
督办 replies due and rework; and the candidate departments a case page offers a dispatcher."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_STREET_3, Clock, report
from tests.conftest import bearer, settings_for

MONDAY_9 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)  # 09:00 in Harbin, a working Monday


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_9)


@pytest.fixture
async def api(db_url, clock):
    async with TestClient(TestServer(create_app(settings_for(db_url), clock=clock))) as client:
        yield client


async def made(api, token: str, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/reports", json=report(**fields), headers=bearer(token))
    assert response.status == 201, await response.text()
    return await response.json()


async def listed(api, token: str, **query: str) -> list[str]:
    response = await api.get("/api/v1/cases", params=query, headers=bearer(token))
    assert response.status == 200, await response.text()
    return [c["case_no"] for c in (await response.json())["cases"]]


async def lights(api, token: str) -> dict[str, str | None]:
    response = await api.get("/api/v1/cases", params={"limit": "500"}, headers=bearer(token))
    return {c["case_no"]: c["light"] for c in (await response.json())["cases"]}


async def post(api, token: str, path: str, body: dict[str, Any]) -> None:
    response = await api.post(path, json=body, headers=bearer(token))
    assert response.status == 200, await response.text()


async def test_the_light_filter_lists_exactly_the_cases_showing_that_light(api, db, tokens, clock):
    await made(api, tokens["inspector"])  # dispatched on the working clock: red a month later
    await made(api, tokens["inspector"], point=FAR_AWAY)  # waits for dispatch: its step's light
    clock.advance(days=30)
    await made(api, tokens["inspector"], point=FAR_AWAY)
    suspended = await made(api, tokens["inspector"])
    until = (clock.now + dt.timedelta(days=3)).isoformat()
    body = {"until": until, "reason": "funding", "note": "资金"}
    await post(api, tokens["department"], f"/api/v1/cases/{suspended['case_id']}/suspension", body)
    decision = {"approve": True, "note": "同意"}
    await post(api, tokens["shift_lead"], f"/api/v1/cases/{suspended['case_id']}/suspension/decide", decision)
    fresh = await made(api, tokens["inspector"])
    clock.advance(minutes=13)  # the 15-minute dispatch step of the new pending case is past 80 %
    await _same_lights(api, tokens["dispatcher"], {"green", "yellow", "red", "suspended"})
    # At the instant a case turns yellow, the filter and the case agree.
    clock.now = await db.fetchval("SELECT warn_at FROM cases WHERE id = $1::uuid", fresh["case_id"])
    await _same_lights(api, tokens["dispatcher"], {"yellow", "red", "suspended"})
    clock.now = await db.fetchval("SELECT deadline_at FROM cases WHERE id = $1::uuid", fresh["case_id"])
    await _same_lights(api, tokens["dispatcher"], {"red", "suspended"})


async def _same_lights(api, token: str, expected_lights: set[str]) -> None:
    """Each light's filter lists exactly the cases showing it; ``expected_lights`` are all shown."""
    shown = await lights(api, token)
    assert expected_lights <= set(shown.values()), shown
    for light in ("green", "yellow", "red", "suspended"):
        expected = sorted(no for no, lit in shown.items() if lit == light)
        assert sorted(await listed(api, token, light=light)) == expected, light


async def test_source_period_number_and_the_kinds_of_waiting(api, tokens, clock):
    first = await made(api, tokens["inspector"])
    clock.advance(days=2)
    second = await made(api, tokens["inspector"])
    phoned = await made(api, tokens["receiver"], source="hotline")
    reader = tokens["dispatcher"]
    assert await listed(api, reader, source="hotline") == [phoned["case_no"]]
    assert await listed(api, reader, case_no=first["case_no"]) == [first["case_no"]]
    assert await listed(api, reader, until="2026-12-01") == [first["case_no"]], "a date is midnight in the city"
    assert sorted(await listed(api, reader, since="2026-12-02")) == sorted([second["case_no"], phoned["case_no"]])
    extension = {"reason": "材料未到"}
    response = await api.post(
        f"/api/v1/cases/{second['case_id']}/extension", json=extension, headers=bearer(tokens["department"])
    )
    assert response.status == 200, await response.text()
    assert await listed(api, reader, open_request="any") == [second["case_no"]]
    supervise = {"level": "urge", "note": "请加快", "reply_hours": 4}
    response = await api.post(f"/api/v1/cases/{first['case_id']}/supervise", json=supervise, headers=bearer(reader))
    assert response.status == 200, await response.text()
    assert await listed(api, reader, supervised="true") == [first["case_no"]]
    assert await listed(api, reader, reworked="true") == []
    clerk, lead = tokens["department"], tokens["shift_lead"]
    await post(api, clerk, f"/api/v1/cases/{first['case_id']}/supervise/reply", {"note": "已安排"})
    await post(api, clerk, f"/api/v1/cases/{first['case_id']}/accept", {})
    await post(api, clerk, f"/api/v1/cases/{first['case_id']}/resolve", {"note": "已处理"})
    await post(api, lead, f"/api/v1/cases/{first['case_id']}/verify", {"passed": False, "note": "未拆除"})
    assert await listed(api, reader, reworked="true") == [first["case_no"]]
    assert await listed(api, reader, supervised="true") == [], "answered"


@pytest.mark.parametrize(
    "query",
    [{"light": "blue"}, {"source": "radio"}, {"since": "yesterday"}, {"case_no": "1; DROP"}, {"open_request": "x"}],
)
async def test_a_bad_filter_is_a_422_naming_it(api, tokens, query):
    response = await api.get("/api/v1/cases", params=query, headers=bearer(tokens["dispatcher"]))
    assert response.status == 422
    body = await response.json()
    assert next(iter(query)) in body["error"]["details"][0]["path"]


async def test_a_case_names_the_routing_rules_candidate_departments_most_fitting_first(api, tokens):
    barbecue = await made(api, tokens["inspector"], category="outdoor_barbecue", point=IN_STREET_3)
    nowhere = await made(api, tokens["inspector"], point=FAR_AWAY)
    inside = await made(api, tokens["inspector"], category="construction_dust", point=IN_CELL_1)

    async def candidates(case: dict[str, Any]) -> list[str]:
        response = await api.get(f"/api/v1/cases/{case['case_id']}", headers=bearer(tokens["dispatcher"]))
        return [d["code"] for d in (await response.json())["candidates"]]

    assert await candidates(barbecue) == ["urban_management"]
    assert await candidates(nowhere) == [], "outside the grid, no rule names illegal construction anywhere"
    assert await candidates(inside) == ["housing", "urban_management"], "the cell's rule, then the street's"

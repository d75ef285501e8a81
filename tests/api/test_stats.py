"""Statistics: a history built by hand on a clock the test moves, every figure checked by hand."""

import csv
import datetime as dt
import io

import pytest

from grid_service import keys
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, IN_STREET_2, Clock, report
from tests.api.test_deadline_watch import MONDAY_9, SHANGHAI, workers
from tests.conftest import bearer, load_config_with

DAY = {"from": "2026-11-23", "to": "2026-11-24"}


async def build_history(client, tokens, clock):
    """Monday (natural 2-hour barbecue limit; the fixture routes IN_CELL_* to urban_management and
    IN_STREET_2 to street_office):

    A  09:00 reported; 09:30 accepted; 10:00 resolved (due 11:00: on time); 10:30 closed.
    B  09:00 reported; 09:30 accepted; sweep at 11:30 records it overdue; 12:00 resolved (late);
       12:30 check failed (rework); 13:00 resolved; 13:30 closed (not on time).
    C  09:00 reported (street_office, due 11:00); 09:10 rejected; 09:20 re-dispatched to
       urban_management (due 11:20); overdue at the 11:30 sweep; still open at the end of the day.
    D  09:00 reported outside the grid: waits for the dispatcher, in no department.
    """
    inspector, clerk = bearer(tokens["inspector"]), bearer(tokens["department"])

    async def at(hour, minute, method_path, token, body=None):
        clock.now = MONDAY_9.replace(hour=hour, minute=minute)
        response = await client.post(method_path, json=body if body is not None else {}, headers=token)
        assert response.status in (200, 201), await response.text()
        return await response.json()

    a = (await at(9, 0, "/api/v1/reports", inspector, report("outdoor_barbecue", IN_CELL_1)))["case_id"]
    b = (await at(9, 0, "/api/v1/reports", inspector, report("outdoor_barbecue", IN_CELL_2)))["case_id"]
    c = (await at(9, 0, "/api/v1/reports", inspector, report("outdoor_barbecue", IN_STREET_2)))["case_id"]
    await at(9, 0, "/api/v1/reports", inspector, report("exposed_garbage", FAR_AWAY))
    await at(
        9,
        10,
        f"/api/v1/cases/{c}/reject",
        bearer(tokens["department:street_office"]),
        {"reason": "other", "note": "非本部门"},
    )
    await at(9, 20, f"/api/v1/cases/{c}/dispatch", bearer(tokens["dispatcher"]), {"department": "urban_management"})
    await at(9, 30, f"/api/v1/cases/{a}/accept", clerk)
    await at(9, 30, f"/api/v1/cases/{b}/accept", clerk)
    await at(10, 0, f"/api/v1/cases/{a}/resolve", clerk)
    await at(10, 30, f"/api/v1/cases/{a}/verify", inspector, {"passed": True})
    clock.now = MONDAY_9.replace(hour=11, minute=30)
    assert (await client.server.app[keys.WATCH].sweep()).overdue == 2  # B and C
    await at(12, 0, f"/api/v1/cases/{b}/resolve", clerk)
    await at(12, 30, f"/api/v1/cases/{b}/verify", inspector, {"passed": False})
    await at(13, 0, f"/api/v1/cases/{b}/resolve", clerk)
    await at(13, 30, f"/api/v1/cases/{b}/verify", inspector, {"passed": True})
    clock.now = MONDAY_9 + dt.timedelta(days=3)


async def stats(client, token, **params):
    response = await client.get("/api/v1/stats", params=params, headers=bearer(token))
    body = await response.json()
    assert response.status == 200, body
    return body


EMPTY = {
    "reported": 0,
    "dispatched": 0,
    "filed": 0,
    "closed": 0,
    "closed_on_time": 0,
    "due": 0,
    "overdue_open": 0,
    "rejected": 0,
    "reworked": 0,
    "closure_rate": None,
    "on_time_rate": None,
    "rework_rate": None,
    "median_hours_to_close": None,
    "scores": {"composite": None},
}


@pytest.fixture
async def history(db_url, tokens):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        await build_history(client, tokens, clock)
        yield client


async def test_figures_by_department_match_the_hand_count(history, tokens):
    body = await stats(history, tokens["viewer"], group_by="department", **DAY)
    assert (body["from"], body["to"]) == ("2026-11-23T00:00:00+08:00", "2026-11-24T00:00:00+08:00")
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["urban_management"] == {
        **EMPTY,
        "key": "urban_management",
        "name": "城市管理行政执法局",
        "reported": 2,  # A, B (C was reported to street_office)
        "dispatched": 3,  # A, B, and C when re-dispatched
        "filed": 3,  # the cohort: A, B, C, each counted for its last dispatch's department
        "closed": 2,
        "closed_on_time": 1,  # A; B's last resolution came after its deadline
        "due": 3,  # A 11:00, B 11:00, C 11:20
        "overdue_open": 1,  # C
        "reworked": 1,  # B
        "closure_rate": 0.6667,
        "on_time_rate": 0.3333,
        "rework_rate": 0.3333,  # of the due
        "median_hours_to_close": 3.0,  # A 1.5 h, B 4.5 h
        "scores": {"composite": 0.5333},  # 0.6667 x 0.4 + 0.3333 x 0.4 + (1 - 0.3333) x 0.2
    }
    assert groups["street_office"] == {
        **EMPTY,
        "key": "street_office",
        "name": "街道办事处",
        "reported": 1,
        "dispatched": 1,
        "rejected": 1,  # its first deadline was replaced before it fell: not due
    }
    # D, never dispatched: filed (it waits for a dispatcher), never due
    assert groups[None] == {**EMPTY, "key": None, "name": None, "reported": 1, "filed": 1}
    assert [g["key"] for g in body["groups"]] == ["street_office", "urban_management", None]


async def test_figures_by_category_street_and_cell(history, tokens):
    by_category = {g["key"]: g for g in (await stats(history, tokens["viewer"], group_by="category", **DAY))["groups"]}
    barbecue = by_category["outdoor_barbecue"]
    assert (barbecue["reported"], barbecue["dispatched"], barbecue["closed"], barbecue["due"]) == (3, 3, 2, 3)
    assert (barbecue["rejected"], barbecue["reworked"], barbecue["overdue_open"]) == (1, 1, 1)
    assert by_category["exposed_garbage"]["reported"] == 1
    by_street = {g["key"]: g for g in (await stats(history, tokens["viewer"], group_by="street", **DAY))["groups"]}
    assert by_street["230108001"]["closed"] == 2 and by_street["230108002"]["overdue_open"] == 1
    by_cell = {g["key"]: g for g in (await stats(history, tokens["viewer"], group_by="grid", **DAY))["groups"]}
    assert by_cell["230108001001001"]["closed_on_time"] == 1 and by_cell["230108001001002"]["reworked"] == 1


async def test_a_period_is_reproducible_and_later_periods_see_their_own_events(history, tokens):
    first = await stats(history, tokens["viewer"], **DAY)
    await history.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    assert await stats(history, tokens["viewer"], **DAY) == first, "later events do not change a past period"
    tuesday = await stats(history, tokens["viewer"], **{"from": "2026-11-24", "to": "2026-11-25"})
    [urban] = [g for g in tuesday["groups"] if g["key"] == "urban_management"]
    assert urban["overdue_open"] == 1 and urban["reported"] == 0  # C is still overdue; nothing new that day


async def test_stats_as_csv(history, tokens):
    response = await history.get(
        "/api/v1/stats", params=DAY, headers={**bearer(tokens["dispatcher"]), "Accept": "text/csv"}
    )
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    urban = next(r for r in rows if r["key"] == "urban_management")
    assert (urban["closed"], urban["due"], urban["closure_rate"], urban["median_hours_to_close"]) == (
        "2",
        "3",
        "0.6667",
        "3.0",
    )
    assert list(rows[0]) == [
        "key",
        "name",
        "reported",
        "dispatched",
        "filed",
        "closed",
        "closed_on_time",
        "due",
        "overdue_open",
        "rejected",
        "reworked",
        "closure_rate",
        "on_time_rate",
        "rework_rate",
        "median_hours_to_close",
        "composite",
    ]


async def test_stats_parameters_and_roles(client, tokens):
    for params in (
        {"group_by": "weather"},
        {"from": "yesterday"},
        {"from": "2026-11-24", "to": "2026-11-23"},
        {"from": "0182-03-23T15:33:23Z"},
    ):
        response = await client.get("/api/v1/stats", params=params, headers=bearer(tokens["viewer"]))
        assert response.status == 422, params
    for role in ("inspector", "department"):
        assert (await client.get("/api/v1/stats", headers=bearer(tokens[role]))).status == 403
    default = await stats(client, tokens["viewer"])
    span = dt.datetime.fromisoformat(default["to"]) - dt.datetime.fromisoformat(default["from"])
    assert span == dt.timedelta(days=30) and default["groups"] == []
    assert dt.datetime.fromisoformat(default["to"]).utcoffset() == SHANGHAI.utcoffset(MONDAY_9)


async def test_the_evaluation_file_sets_what_a_rate_divides_and_the_scores(db_url, db, tokens, tmp_path):
    evaluation = """
[rates.on_time_rate]
numerator = "closed_on_time"
denominator = "closed"

[[score]]
code = "timely"
name = "按时处置"
[[score.term]]
rate = "on_time_rate"
weight = 1
"""
    await load_config_with(db, tmp_path / "config", {"evaluation.toml": evaluation})
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        await build_history(client, tokens, clock)
        body = await stats(client, tokens["viewer"], group_by="department", **DAY)
    urban = next(g for g in body["groups"] if g["key"] == "urban_management")
    assert urban["on_time_rate"] == 0.5, "按期结案数 over 结案数: A of A and B"
    assert urban["scores"] == {"timely": 0.5} and body["headings"]["timely"] == "按时处置"

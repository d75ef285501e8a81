import uuid

import pytest

from geo import gcj02
from tests.api.helpers import FAR_AWAY, IN_CELL_2, report
from tests.conftest import bearer


async def test_categories_list_the_configured_limits(client, tokens):
    response = await client.get("/api/v1/categories", headers=bearer(tokens["inspector"]))
    categories = {c["code"]: c for c in (await response.json())["categories"]}
    assert categories["outdoor_barbecue"] == {
        "code": "outdoor_barbecue",
        "name": "露天烧烤",
        "class_code": "0510",
        "limit_hours": 2.0,
        "urgent_limit_hours": 1.0,
        "clock": "natural",
        "duplicate_radius_m": 50.0,
        "duplicate_window_hours": 24.0,
        "conditions": [],
        "default_condition": None,
        "acceptance_hours": None,  # disputes.toml's sign-for limit
    }
    assert [c["code"] for c in categories["illegal_construction"]["conditions"]] == ["stop_work", "demolish"]
    assert set(categories) == {"outdoor_barbecue", "illegal_construction", "construction_dust", "exposed_garbage"}


async def test_departments_list(client, tokens):
    response = await client.get("/api/v1/departments", headers=bearer(tokens["viewer"]))
    departments = (await response.json())["departments"]
    assert {"code": "sanitation", "name": "环境卫生中心"} in departments and len(departments) == 4


async def test_locate_finds_the_cell(client, tokens):
    response = await client.get(
        "/api/v1/grids/locate", params={"lon": IN_CELL_2[0], "lat": IN_CELL_2[1]}, headers=bearer(tokens["inspector"])
    )
    body = await response.json()
    assert response.status == 200
    assert body["code"] == "230108001001002" and body["name"] == "二号网格" and body["snapped"] is False


async def test_locate_accepts_gcj02(client, tokens):
    lon, lat = gcj02.to_gcj02(*IN_CELL_2)
    response = await client.get(
        "/api/v1/grids/locate", params={"lon": lon, "lat": lat, "crs": "gcj02"}, headers=bearer(tokens["inspector"])
    )
    assert (await response.json())["code"] == "230108001001002"


async def test_locate_outside_the_grid_is_404(client, tokens):
    response = await client.get(
        "/api/v1/grids/locate", params={"lon": FAR_AWAY[0], "lat": FAR_AWAY[1]}, headers=bearer(tokens["inspector"])
    )
    assert response.status == 404 and (await response.json())["error"]["code"] == "outside_grid"


@pytest.mark.parametrize(
    "params, path",
    [
        ({"lon": "x", "lat": "45"}, ["lon"]),
        ({"lon": "200", "lat": "45"}, ["lon"]),
        ({"lat": "45"}, ["lon"]),
        ({"lon": "126", "lat": "45", "crs": "bd09"}, ["crs"]),
        ({"lon": "nan", "lat": "45"}, ["lon"]),
    ],
)
async def test_locate_rejects_bad_parameters(client, tokens, params, path):
    response = await client.get("/api/v1/grids/locate", params=params, headers=bearer(tokens["inspector"]))
    body = await response.json()
    assert response.status == 422 and path in [d["path"] for d in body["error"]["details"]]


@pytest.mark.parametrize("case_id", [str(uuid.uuid4()), "not-a-uuid", "1"])
async def test_unknown_case_is_404(client, tokens, case_id):
    response = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))
    assert response.status == 404 and (await response.json())["error"]["code"] == "not_found"


async def test_readyz_reports_database_and_grid(client):
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["details"]["database"] == "ok" and body["details"]["grid"]["cells"] == 5


async def test_responses_carry_a_request_id(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert len((await client.get("/healthz")).headers["X-Request-ID"]) == 32


async def test_a_deadline_running_into_a_year_without_holiday_data_is_still_computed_and_reported(db_url, tokens):
    import datetime as dt

    from aiohttp.test_utils import TestClient, TestServer

    from grid_service.app import create_app
    from tests.api.helpers import IN_CELL_1, report
    from tests.conftest import settings_for

    new_years_eve = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    client = TestClient(TestServer(create_app(settings_for(db_url), clock=lambda: new_years_eve)))
    await client.start_server()
    try:
        response = await client.post(
            "/api/v1/reports", json=report("illegal_construction", IN_CELL_1), headers=bearer(tokens["inspector"])
        )
        body = await response.json()
        assert response.status == 201
        # 37.5 working hours from Thu 31 Dec 17:00: 0.5 h that evening, Fri 1 Jan 2027 counted as a
        # plain weekday (no official data), Mon 4 – Wed 6 Jan, then 7 h of Thu 7 Jan.
        assert body["deadline_at"] == "2027-01-07T17:00:00+08:00"
        ready = await (await client.get("/readyz")).json()
        assert ready["status"] == "ready"
        assert ready["details"]["calendar"]["official_holidays_missing_years"] == [2027]
    finally:
        await client.close()


async def test_status_open_lists_every_open_status(client, tokens):
    opened = await (await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))).json()
    done = await (
        await client.post("/api/v1/reports", json=report(point=IN_CELL_2), headers=bearer(tokens["inspector"]))
    ).json()
    await client.post(f"/api/v1/cases/{done['case_id']}/cancel", json={}, headers=bearer(tokens["dispatcher"]))
    response = await client.get("/api/v1/cases", params={"status": "open"}, headers=bearer(tokens["viewer"]))
    assert response.status == 200
    assert [c["id"] for c in (await response.json())["cases"]] == [opened["case_id"]]
    both = await client.get("/api/v1/cases", params={"status": "open,cancelled"}, headers=bearer(tokens["viewer"]))
    assert {c["id"] for c in (await both.json())["cases"]} == {opened["case_id"], done["case_id"]}


async def test_a_deadline_in_the_history_is_in_the_citys_offset(client, tokens):
    created = await (await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))).json()
    await client.post(
        f"/api/v1/cases/{created['case_id']}/dispatch",
        json={"department": "housing"},
        headers=bearer(tokens["dispatcher"]),
    )
    case = await (await client.get(f"/api/v1/cases/{created['case_id']}", headers=bearer(tokens["viewer"]))).json()
    deadlines = [e["data"]["deadline_at"] for e in case["history"] if "deadline_at" in e["data"]]
    assert len(deadlines) == 2 and all(d.endswith("+08:00") for d in deadlines), deadlines

import asyncio
import datetime as dt

import pytest

from tests.api.helpers import (
    FAR_AWAY,
    IN_CELL_1,
    IN_CELL_2,
    IN_STREET_2,
    IN_STREET_3,
    counts,
    report,
    upload_photo,
)
from tests.conftest import bearer


async def post(client, token, body):
    response = await client.post("/api/v1/reports", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_report_becomes_a_dispatched_case_with_grid_department_and_deadline(client, tokens):
    status, body = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_CELL_1, urgent=False))
    assert status == 201
    assert body["duplicate"] is False and body["status"] == "dispatched" and body["pending_reason"] is None
    assert body["grid"] == {"code": "230108001001001", "name": "一号网格"}
    assert body["department"] == {"code": "urban_management", "name": "城市管理行政执法局"}
    assert body["case_no"].startswith(dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y%m%d-"))
    deadline = dt.datetime.fromisoformat(body["deadline_at"])
    assert deadline.utcoffset() == dt.timedelta(hours=8)
    # natural clock, 2 hours (deadlines are whole seconds)
    assert dt.timedelta(hours=2) - dt.timedelta(seconds=5) < deadline - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=2)


async def test_the_case_shows_its_report_routing_rule_and_history(client, tokens):
    _, accepted = await post(
        client,
        tokens["inspector"],
        report("construction_dust", IN_CELL_2, description="工地未覆盖", address="新疆大街 12 号", accuracy_m=8),
    )
    response = await client.get(f"/api/v1/cases/{accepted['case_id']}", headers=bearer(tokens["viewer"]))
    case = await response.json()
    assert response.status == 200
    assert case["case_no"] == accepted["case_no"] and case["status"] == "dispatched"
    assert case["routing_rule"] == {
        "id": 5,
        "category": "construction_dust",
        "area": "230108001001",
        "department": "housing",
    }
    assert case["department"]["code"] == "housing"
    assert case["light"] == "green" and case["overdue"] is False
    [only] = case["reports"]
    assert only["id"] == accepted["report_id"] and only["description"] == "工地未覆盖"
    assert only["address"] == "新疆大街 12 号" and only["accuracy_m"] == 8
    assert [e["type"] for e in case["history"]] == ["case.created", "case.dispatched"]
    assert case["history"][0]["actor"].startswith("inspector:")
    assert case["history"][0]["seq"] < case["history"][1]["seq"]


@pytest.mark.parametrize(
    "category, point, department, rule_id",
    [
        ("outdoor_barbecue", IN_STREET_2, "street_office", 3),  # longer area beats an explicit category
        ("exposed_garbage", IN_STREET_2, "sanitation", 4),  # explicit category beats "*" at the same area
        ("outdoor_barbecue", IN_STREET_3, "urban_management", 2),
    ],
)
async def test_routing_uses_the_most_specific_rule(client, tokens, category, point, department, rule_id):
    _, body = await post(client, tokens["inspector"], report(category, point))
    assert body["department"]["code"] == department
    case = await (await client.get(f"/api/v1/cases/{body['case_id']}", headers=bearer(tokens["viewer"]))).json()
    assert case["routing_rule"]["id"] == rule_id


async def test_no_matching_rule_waits_for_the_dispatcher(client, tokens, db):
    status, body = await post(client, tokens["inspector"], report("exposed_garbage", IN_STREET_3))
    assert status == 201
    assert body["status"] == "pending_dispatch" and body["pending_reason"] == "no_rule"
    assert body["grid"]["code"] == "230108003001001"
    assert body["department"] is None and body["deadline_at"] is None
    assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'case.dispatched'") == 0


async def test_a_point_outside_the_grid_waits_for_the_dispatcher(client, tokens, db):
    status, body = await post(client, tokens["inspector"], report("outdoor_barbecue", FAR_AWAY))
    assert status == 201
    assert body["status"] == "pending_dispatch" and body["pending_reason"] == "outside_grid"
    assert body["grid"] is None and body["department"] is None
    assert await db.fetchval("SELECT count(*) FROM cases WHERE pending_reason = 'outside_grid'") == 1


async def test_a_point_a_few_metres_outside_snaps_to_the_nearest_cell(client, tokens):
    ten_metres_south = (126.605, 45.600 - 10 / 111_320)
    _, body = await post(client, tokens["inspector"], report("illegal_construction", ten_metres_south))
    assert body["grid"]["code"] == "230108001001001" and body["status"] == "dispatched"


async def test_gcj02_coordinates_are_converted_before_assignment(client, tokens, db):
    from geo import gcj02

    gcj = gcj02.to_gcj02(*IN_CELL_2)
    _, body = await post(client, tokens["inspector"], report("illegal_construction", gcj, crs="gcj02"))
    assert body["grid"]["code"] == "230108001001002"
    row = await db.fetchrow("SELECT lon, lat, input_lon, crs FROM reports")
    assert row["lon"] == pytest.approx(IN_CELL_2[0], abs=1e-8) and row["input_lon"] == gcj[0]
    assert row["crs"] == "gcj02"


async def test_urgent_reports_get_the_urgent_limit(client, tokens):
    _, normal = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_CELL_1))
    _, urgent = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_STREET_3, urgent=True))
    gap = dt.datetime.fromisoformat(normal["deadline_at"]) - dt.datetime.fromisoformat(urgent["deadline_at"])
    assert dt.timedelta(minutes=59) < gap <= dt.timedelta(hours=1, seconds=1)


async def test_a_retry_with_the_same_body_replays_the_identical_answer(client, tokens, db):
    body = report("outdoor_barbecue", IN_CELL_1, client_id="phone-7:2026-11-27:0001")
    first_status, first = await post(client, tokens["inspector"], body)
    before = await counts(db)
    again_status, again = await post(client, tokens["inspector"], dict(reversed(list(body.items()))))
    assert (first_status, again_status) == (201, 200)
    assert again == first
    assert await counts(db) == before


async def test_a_retry_with_a_different_body_is_a_conflict(client, tokens, db):
    body = report("outdoor_barbecue", IN_CELL_1, client_id="c-1")
    await post(client, tokens["inspector"], body)
    before = await counts(db)
    status, error = await post(client, tokens["inspector"], {**body, "description": "changed"})
    assert status == 409 and error["error"]["code"] == "idempotency_conflict"
    assert await counts(db) == before


async def test_client_ids_belong_to_one_inspector(client, tokens):
    body = report("outdoor_barbecue", IN_CELL_1, client_id="shared-id")
    first = await post(client, tokens["inspector"], body)
    second = await post(client, tokens["inspector2"], body)
    assert first[0] == second[0] == 201 and first[1]["report_id"] != second[1]["report_id"]


async def test_fifty_concurrent_submissions_of_one_client_id_store_one_report(client, tokens, db):
    body = report("illegal_construction", IN_CELL_2, client_id="race-1")
    results = await asyncio.gather(*(post(client, tokens["inspector"], body) for _ in range(50)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 49 + [201]
    assert len({b["report_id"] for _, b in results}) == 1
    assert (await counts(db))["reports"] == 1 and (await counts(db))["cases"] == 1


async def test_a_nearby_report_of_the_same_category_joins_the_open_case(client, tokens, db):
    _, first = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_CELL_1))
    twenty_metres_east = (IN_CELL_1[0] + 20 / (111_320 * 0.6997), IN_CELL_1[1])
    status, second = await post(client, tokens["inspector2"], report("outdoor_barbecue", twenty_metres_east))
    assert status == 201 and second["duplicate"] is True
    assert second["case_id"] == first["case_id"] and second["report_id"] != first["report_id"]
    assert second["deadline_at"] == first["deadline_at"]
    case = await (await client.get(f"/api/v1/cases/{first['case_id']}", headers=bearer(tokens["viewer"]))).json()
    assert len(case["reports"]) == 2 and case["report_count"] == 2
    assert [e["type"] for e in case["history"]][-1] == "case.reported_again"


async def test_reports_beyond_the_radius_or_of_another_category_open_new_cases(client, tokens):
    _, first = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_CELL_1))
    eighty_metres_east = (IN_CELL_1[0] + 80 / (111_320 * 0.6997), IN_CELL_1[1])
    _, far = await post(client, tokens["inspector"], report("outdoor_barbecue", eighty_metres_east))
    _, other = await post(client, tokens["inspector"], report("illegal_construction", IN_CELL_1))
    assert not far["duplicate"] and not other["duplicate"]
    assert len({first["case_id"], far["case_id"], other["case_id"]}) == 3


async def test_reports_outside_the_window_open_a_new_case(client, tokens, db):
    _, first = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_CELL_1))
    await db.execute("UPDATE cases SET last_reported_at = last_reported_at - interval '25 hours'")
    _, second = await post(client, tokens["inspector"], report("outdoor_barbecue", IN_CELL_1))
    assert second["duplicate"] is False and second["case_id"] != first["case_id"]


async def test_concurrent_reports_of_one_spot_make_one_case(client, tokens, db):
    bodies = [report("outdoor_barbecue", (IN_CELL_1[0] + i * 1e-5, IN_CELL_1[1])) for i in range(20)]
    results = await asyncio.gather(*(post(client, tokens["inspector"], b) for b in bodies))
    assert {status for status, _ in results} == {201}
    assert len({b["case_id"] for _, b in results}) == 1
    assert sum(not b["duplicate"] for _, b in results) == 1
    assert (await counts(db))["cases"] == 1


async def test_media_hashes_are_kept_in_order(client, tokens, db):
    media = [await upload_photo(client, tokens["inspector"]) for _ in range(2)]
    _, body = await post(client, tokens["inspector"], report(media=media))
    rows = await db.fetch(
        "SELECT sha256 FROM report_media WHERE report_id = $1 ORDER BY position",
        __import__("uuid").UUID(body["report_id"]),
    )
    assert [r["sha256"] for r in rows] == media

"""Map snapshots (cases and cells as GeoJSON), the page and its static files."""

from grid_service.schemas import CaseFeatureCollection, CellFeatureCollection, EventType
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, IN_STREET_2, report
from tests.api.sse import EventReader
from tests.api.test_openapi import assert_matches
from tests.conftest import bearer


async def submit(client, tokens, point=IN_CELL_1, category="illegal_construction"):
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"]))
    return (await response.json())["case_id"]


async def snapshot(client, token, **params):
    response = await client.get("/api/v1/map/cases", params=params, headers=bearer(token))
    body = await response.json(content_type=None)
    assert response.status == 200, body
    assert response.headers["Content-Type"].startswith("application/geo+json")
    assert_matches(CaseFeatureCollection, body)
    return body


async def test_the_case_snapshot_holds_open_cases_as_points_with_their_light(client, tokens):
    first = await submit(client, tokens, IN_CELL_1)
    pending = await submit(client, tokens, FAR_AWAY)
    closed = await submit(client, tokens, IN_CELL_2)
    await client.post(f"/api/v1/cases/{closed}/cancel", json={}, headers=bearer(tokens["dispatcher"]))
    body = await snapshot(client, tokens["viewer"])
    by_id = {f["id"]: f for f in body["features"]}
    assert set(by_id) == {first, pending}
    assert by_id[first]["geometry"]["coordinates"] == list(IN_CELL_1)
    assert by_id[first]["properties"]["light"] == "green"
    assert by_id[pending]["properties"]["status"] == "pending_dispatch"
    assert by_id[pending]["properties"]["light"] == "green", "within its 立案→派遣 step limit"
    assert by_id[pending]["properties"]["step_due_at"] is not None
    everything = await snapshot(client, tokens["viewer"], status="all")
    assert {f["id"] for f in everything["features"]} == {first, pending, closed}


async def test_the_case_snapshot_filters_by_bbox_and_department(client, tokens):
    await submit(client, tokens, IN_CELL_1)
    in_box = await submit(client, tokens, IN_CELL_2)
    street = await submit(client, tokens, IN_STREET_2)
    boxed = await snapshot(client, tokens["viewer"], bbox="126.61,45.60,126.62,45.605")
    assert [f["id"] for f in boxed["features"]] == [in_box]
    own = await snapshot(client, tokens["department:street_office"])
    assert [f["id"] for f in own["features"]] == [street]


async def test_the_feed_continues_exactly_where_the_snapshot_ends(client, tokens, db):
    before = await submit(client, tokens, IN_CELL_1)
    body = await snapshot(client, tokens["viewer"])
    assert body["seq"] == await db.fetchval("SELECT max(seq) FROM events")
    assert [f["id"] for f in body["features"]] == [before]
    after = await submit(client, tokens, IN_CELL_2)
    response = await client.get("/api/v1/feed", params={"after": body["seq"]}, headers=bearer(tokens["viewer"]))
    events = await EventReader(response).take(2)
    assert {e.data["id"] for e in events} == {after}
    assert events[0].id == body["seq"] + 1


async def test_the_cell_snapshot_counts_open_cases_per_cell(client, tokens):
    await submit(client, tokens, IN_CELL_1)
    await submit(client, tokens, IN_CELL_1, category="outdoor_barbecue")
    cancelled = await submit(client, tokens, IN_CELL_2)
    await client.post(f"/api/v1/cases/{cancelled}/cancel", json={}, headers=bearer(tokens["dispatcher"]))
    response = await client.get("/api/v1/grids", headers=bearer(tokens["viewer"]))
    body = await response.json(content_type=None)
    assert response.status == 200
    assert_matches(CellFeatureCollection, body)
    counts = {f["id"]: f["properties"]["open_cases"] for f in body["features"]}
    assert len(counts) == 5  # the fixture grid
    assert counts["230108001001001"] == 2 and counts["230108001001002"] == 0
    assert body["features"][0]["geometry"]["type"] == "Polygon"
    boxed = await client.get(
        "/api/v1/grids", params={"bbox": "126.601,45.601,126.604,45.604"}, headers=bearer(tokens["viewer"])
    )
    assert [f["id"] for f in (await boxed.json(content_type=None))["features"]] == ["230108001001001"]


async def test_snapshot_parameters_are_checked(client, tokens):
    for path, params in [
        ("/api/v1/map/cases", {"status": "some"}),
        ("/api/v1/map/cases", {"bbox": "a,b,c,d"}),
        ("/api/v1/grids", {"bbox": "200,0,201,1"}),
        ("/api/v1/grids", {"zoom": "3"}),
    ]:
        response = await client.get(path, params=params, headers=bearer(tokens["viewer"]))
        assert response.status == 422, (path, params)
        assert (await response.json())["error"]["code"] == "validation_failed"
    assert (await client.get("/api/v1/map/cases")).status == 401


async def test_the_page_and_its_files_are_served_without_a_token(client):
    page = await client.get("/map")
    html = await page.text()
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/static/leaflet/leaflet.js" in html and "/static/map/map.js" in html
    for path in ("/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css", "/static/map/map.js"):
        assert (await client.get(path)).status == 200, path
    settings = await client.get("/map/settings.json")
    assert await settings.json() == {
        "tile_url": None,
        "timezone": "Asia/Shanghai",
        "bounds": [126.6, 45.6, 126.63, 45.61],  # the fixture grid's extent
        "event_types": [t.value for t in EventType],
        "running": ["dispatched", "in_progress"],
        "finished": ["cancelled", "closed", "voided"],
        "labels": {"check_report": "核实", "check_result": "核查"},
    }
    assert (await client.get("/static/map/../../settings.py")).status in (403, 404)


async def test_the_snapshot_carries_what_each_case_waits_for(client, tokens):
    """An open extension request, a 督办 with its reply limit, a suspension with its until and its
    own light: what the shift lead's list and the wall map draw."""
    import datetime as dt

    async def post(case_id, action, token, body):
        response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=bearer(token))
        assert response.status == 200, await response.text()
        return await response.json()

    asking, supervised, suspended = [await submit(client, tokens, (126.6012 + 0.0011 * n, 45.6025)) for n in range(3)]
    await post(asking, "extension", tokens["department"], {"reason": "材料未到"})
    urged = await post(
        supervised, "supervise", tokens["shift_lead"], {"level": "urge", "note": "尽快", "reply_hours": 4}
    )
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).replace(microsecond=0)
    await post(
        suspended, "suspension", tokens["department"], {"until": until.isoformat(), "reason": "legal", "note": "x"}
    )
    await post(suspended, "suspension/decide", tokens["shift_lead"], {"approve": True})
    by_id = {f["id"]: f["properties"] for f in (await snapshot(client, tokens["viewer"]))["features"]}
    assert by_id[asking]["open_request"] == "extension" and by_id[asking]["light"] == "green"
    assert by_id[supervised]["supervision_due_at"] == urged["supervision_due_at"] is not None
    assert by_id[suspended]["status"] == "suspended" and by_id[suspended]["light"] == "suspended"
    assert dt.datetime.fromisoformat(by_id[suspended]["suspended_until"]) == until
    assert by_id[suspended]["open_request"] is None and by_id[asking]["suspended_until"] is None

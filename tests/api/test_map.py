"""Map snapshots (cases and cells as GeoJSON), the page and its static files."""

import datetime as dt

import pytest

from grid_service.schemas import CaseFeatureCollection, CellFeatureCollection, EventType
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, IN_STREET_2, Clock, report
from tests.api.sse import EventReader
from tests.api.test_deadline_watch import MONDAY_9, workers
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
        "stats_roles": ["admin", "dispatcher", "shift_lead", "viewer"],
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


@pytest.fixture
async def on_a_clock(db_url):
    """The service on a clock the test moves (Monday 09:00 in the city), answering 10 cases a page."""
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1, map_page=10) as [client]:
        yield client, clock


def spot(n: int) -> tuple[float, float]:
    """The n-th of a row of points in cell 1, farther apart than any category's duplicate radius."""
    return (126.6012 + 0.0011 * n, 45.6025)


async def act(client, case_id: str, action: str, token: str, body: dict | None = None) -> None:
    response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body or {}, headers=bearer(token))
    assert response.status == 200, await response.text()


async def close(client, tokens, case_id: str) -> None:
    await act(client, case_id, "accept", tokens["department"])
    await act(client, case_id, "resolve", tokens["department"])
    await act(client, case_id, "verify", tokens["inspector"], {"passed": True})


def finished_at(feature: dict) -> dt.datetime | None:
    at = feature["properties"]["finished_at"]
    return dt.datetime.fromisoformat(at) if at is not None else None


async def test_finished_since_adds_the_cases_finished_from_that_instant_to_the_open_ones(on_a_clock, tokens):
    client, clock = on_a_clock
    still_open = await submit(client, tokens, spot(0))
    before = await submit(client, tokens, spot(1))
    await act(client, before, "cancel", tokens["dispatcher"])  # 09:00: before the instant asked for
    clock.advance(hours=1)
    since = clock.now
    clock.advance(minutes=5)
    reported = await submit(client, {"inspector": tokens["channel"]}, spot(2))  # a citizen's: waits for a receiver
    await act(client, reported, "void", tokens["receiver"], {"reason": "duplicate"})  # 10:05
    clock.advance(minutes=5)
    closed = await submit(client, tokens, spot(3))
    await close(client, tokens, closed)  # 10:10

    body = await snapshot(client, tokens["viewer"], finished_since=since.isoformat())
    by_id = {f["id"]: f for f in body["features"]}
    assert set(by_id) == {still_open, reported, closed}
    assert [f["id"] for f in body["features"]] == [still_open, reported, closed], "the open, then as they finished"
    assert by_id[reported]["properties"]["status"] == "voided" and by_id[closed]["properties"]["status"] == "closed"
    assert finished_at(by_id[still_open]) is None
    assert finished_at(by_id[reported]) == since + dt.timedelta(minutes=5)
    assert finished_at(by_id[closed]) == since + dt.timedelta(minutes=10)
    assert by_id[closed]["properties"]["light"] is None
    # At or after: from the instant of the close itself, the void before it is left out.
    exact = await snapshot(client, tokens["viewer"], finished_since=(since + dt.timedelta(minutes=10)).isoformat())
    assert {f["id"] for f in exact["features"]} == {still_open, closed}
    # Without it, the open cases only, as before; with status=all every case, each with its finishing instant.
    assert [f["id"] for f in (await snapshot(client, tokens["viewer"]))["features"]] == [still_open]
    everything = await snapshot(client, tokens["viewer"], status="all", finished_since=since.isoformat())
    instants = {f["id"]: finished_at(f) for f in everything["features"]}
    assert instants == {
        still_open: None,
        before: MONDAY_9,
        reported: since + dt.timedelta(minutes=5),
        closed: since + dt.timedelta(minutes=10),
    }


async def test_the_finished_cases_keep_to_the_callers_department_and_the_bbox(on_a_clock, tokens):
    client, clock = on_a_clock
    since = clock.now
    street = await submit(client, tokens, IN_STREET_2)  # the street office's
    city = await submit(client, tokens, IN_CELL_2)  # urban management's
    clock.advance(minutes=1)
    for case_id in (street, city):
        await act(client, case_id, "cancel", tokens["dispatcher"])
    asked = {"finished_since": since.isoformat()}
    own = await snapshot(client, tokens["department:street_office"], **asked)
    assert [f["id"] for f in own["features"]] == [street]
    boxed = await snapshot(client, tokens["viewer"], bbox="126.61,45.60,126.62,45.605", **asked)
    assert [f["id"] for f in boxed["features"]] == [city]
    everyone = await snapshot(client, tokens["viewer"], **asked)
    assert {f["id"] for f in everyone["features"]} == {street, city}


async def test_a_map_of_open_and_finished_cases_streams_page_after_page_across_the_two(on_a_clock, tokens):
    """Ten cases a page: 12 open and 13 finished come as 10 open, 2 open and 8 finished, then 5 finished."""
    client, clock = on_a_clock
    since = clock.now
    batch = [report("exposed_garbage", (126.601 + i * 0.0001, 45.601)) for i in range(25)]  # never merged
    answer = await client.post("/api/v1/reports/batch", json={"reports": batch}, headers=bearer(tokens["inspector"]))
    assert answer.status == 200, await answer.text()
    ids = [item["report"]["case_id"] for item in (await answer.json())["results"]]
    for case_id in reversed(ids[12:]):  # finished in the reverse of id order: listed as they finished
        clock.advance(minutes=1)
        await act(client, case_id, "cancel", tokens["dispatcher"])
    response = await client.get(
        "/api/v1/map/cases", params={"finished_since": since.isoformat()}, headers=bearer(tokens["viewer"])
    )
    assert response.status == 200 and response.headers.get("Transfer-Encoding") == "chunked"
    body = await response.json(content_type=None)
    assert_matches(CaseFeatureCollection, body)
    shown = [f["id"] for f in body["features"]]
    assert shown[:12] == sorted(ids[:12]) and shown[12:] == list(reversed(ids[12:]))
    assert all(f["properties"]["finished_at"] is None for f in body["features"][:12])
    instants = [finished_at(f) for f in body["features"][12:]]
    assert instants == [since + dt.timedelta(minutes=n) for n in range(1, 14)]


async def test_finished_since_is_an_instant_with_its_offset_at_most_two_days_back(on_a_clock, tokens):
    client, clock = on_a_clock
    too_early = clock.now - dt.timedelta(days=2, seconds=1)
    for given in ("2026-11-23T00:00:00", "2026-11-23", "1795000000", "yesterday", too_early.isoformat()):
        response = await client.get(
            "/api/v1/map/cases", params={"finished_since": given}, headers=bearer(tokens["viewer"])
        )
        error = (await response.json())["error"]
        assert response.status == 422, given
        assert error["code"] == "validation_failed" and error["details"][0]["path"] == ["finished_since"], given
    for given in (clock.now - dt.timedelta(days=2), clock.now + dt.timedelta(hours=1)):
        await snapshot(client, tokens["viewer"], finished_since=given.isoformat())

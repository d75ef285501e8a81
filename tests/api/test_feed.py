"""The live feed: events as SSE with their sequence, resume without loss or repeats, filters, slow clients."""

import asyncio
import contextlib
import socket

from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from grid_service.db import feed as db_feed
from grid_service.live.feed import Subscriber
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, IN_STREET_2, hold_next_sequence, report
from tests.api.sse import EventReader
from tests.conftest import bearer, settings_for


async def subscribe(client, token, *, headers=None, **params):
    response = await client.get("/api/v1/feed", params=params, headers={**bearer(token), **(headers or {})})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return EventReader(response)


async def submit(client, tokens, point=IN_CELL_1, category="illegal_construction"):
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"]))
    assert response.status == 201, await response.text()
    return (await response.json())["case_id"]


async def all_seqs(db, after=0):
    return [r["seq"] for r in await db.fetch("SELECT seq FROM events WHERE seq > $1 ORDER BY seq", after)]


async def test_live_events_carry_their_sequence_type_and_the_case_as_a_feature(client, tokens, db):
    feed = await subscribe(client, tokens["viewer"])
    case_id = await submit(client, tokens)
    created, dispatched = await feed.take(2)
    assert [created.id, dispatched.id] == await all_seqs(db)
    assert (created.type, dispatched.type) == ("case.created", "case.dispatched")
    feature = dispatched.data
    assert feature["type"] == "Feature" and feature["id"] == case_id
    assert feature["geometry"] == {"type": "Point", "coordinates": list(IN_CELL_1)}
    properties = feature["properties"]
    assert properties["status"] == "dispatched" and properties["light"] == "green"
    assert properties["department"] == "urban_management" and properties["grid"] == "230108001001001"
    assert properties["event"]["seq"] == dispatched.id and properties["event"]["type"] == "case.dispatched"

    await client.post(f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(tokens["department"]))
    accepted = await feed.next()
    assert accepted.type == "case.accepted" and accepted.data["properties"]["status"] == "in_progress"


async def test_a_client_resuming_by_last_event_id_gets_every_missed_event_once_then_live_ones(client, tokens, db):
    for point in (IN_CELL_1, IN_CELL_2, IN_STREET_2):
        await submit(client, tokens, point)
    seqs = await all_seqs(db)
    resume_after = seqs[1]
    feed = await subscribe(client, tokens["viewer"], headers={"Last-Event-ID": str(resume_after)}, after="0")
    missed = await feed.take(len(seqs) - 2)
    assert [e.id for e in missed] == seqs[2:], "Last-Event-ID wins over ?after="
    await submit(client, tokens, IN_CELL_2)
    live = await feed.take(2)
    assert [e.id for e in missed + live] == await all_seqs(db, resume_after)


async def test_after_resumes_like_last_event_id(client, tokens, db):
    await submit(client, tokens)
    await submit(client, tokens, IN_CELL_2)
    seqs = await all_seqs(db)
    feed = await subscribe(client, tokens["viewer"], after=str(seqs[0]))
    assert [e.id for e in await feed.take(len(seqs) - 1)] == seqs[1:]


async def test_a_fresh_subscriber_starts_with_what_happens_next(client, tokens, db):
    await submit(client, tokens)
    feed = await subscribe(client, tokens["viewer"])
    case_id = await submit(client, tokens, IN_CELL_2)
    first = await feed.next()
    assert first.data["id"] == case_id and first.id == (await all_seqs(db))[-2]


async def test_filters_by_category_department_and_bbox(client, tokens):
    by_category = await subscribe(client, tokens["viewer"], category="outdoor_barbecue")
    by_department = await subscribe(client, tokens["viewer"], department="street_office")
    by_box = await subscribe(client, tokens["viewer"], bbox="126.61,45.60,126.62,45.605")
    own_only = await subscribe(client, tokens["department:street_office"], department="urban_management")
    await submit(client, tokens, IN_CELL_1)  # urban_management, outside the box
    in_box = await submit(client, tokens, IN_CELL_2)  # urban_management, in the box
    street = await submit(client, tokens, IN_STREET_2)  # street_office
    barbecue = await submit(client, tokens, FAR_AWAY, category="outdoor_barbecue")  # outside the grid: pending
    assert {e.data["id"] for e in await by_category.take(1)} == {barbecue}
    assert {e.data["id"] for e in await by_department.take(2)} == {street}
    assert {e.data["id"] for e in await by_box.take(2)} == {in_box}
    assert {e.data["id"] for e in await own_only.take(2)} == {street}, "a department token sees its own cases"
    for feed in (by_category, by_department, by_box, own_only):
        assert await feed.silent_for(0.3)


async def test_a_lower_sequence_committing_last_is_delivered_first_and_once(client, tokens, db_url, db):
    case_id = await submit(client, tokens)
    feed = await subscribe(client, tokens["viewer"])
    writer, tx, low = await hold_next_sequence(db_url, case_id)
    await submit(client, tokens, IN_CELL_2)  # commits two higher numbers
    assert await feed.silent_for(0.5), "nothing may pass a number that may still commit"
    await tx.commit()
    await writer.close()
    events = await feed.take(3)
    assert [e.id for e in events] == [low, low + 1, low + 2]
    assert events[0].type == "case.warning"


async def test_an_event_committed_on_one_worker_reaches_subscribers_of_another(db_url, client, tokens):
    other = TestClient(TestServer(create_app(settings_for(db_url))))
    await other.start_server()
    try:
        feed = await subscribe(other, tokens["viewer"])
        case_id = await submit(client, tokens)
        assert {e.data["id"] for e in await feed.take(2)} == {case_id}
    finally:
        await other.close()


async def test_idle_feeds_get_heartbeats(db_url, tokens):
    quick = TestClient(TestServer(create_app(settings_for(db_url, feed_heartbeat_s=0.2))))
    await quick.start_server()
    try:
        response = await quick.get("/api/v1/feed", headers=bearer(tokens["viewer"]))
        async with asyncio.timeout(5):
            line = await response.content.readline()
        assert line.startswith(b":"), line
    finally:
        await quick.close()


async def test_browsers_may_pass_the_token_in_the_query_on_get_only(client, tokens):
    response = await client.get("/api/v1/feed", params={"access_token": tokens["viewer"]})
    assert response.status == 200
    response.close()
    listed = await client.get("/api/v1/cases", params={"access_token": tokens["viewer"]})
    assert listed.status == 200
    posted = await client.post("/api/v1/reports", params={"access_token": tokens["inspector"]}, json=report())
    assert posted.status == 401
    wrong = await client.get("/api/v1/feed", params={"access_token": "gs_nope"})
    assert wrong.status == 401 and (await wrong.json())["error"]["code"] == "unauthenticated"


async def test_bad_feed_requests_get_clear_errors(client, tokens):
    cases = [
        ({"after": "-1"}, {}, "validation_failed"),
        ({"after": "x"}, {}, "validation_failed"),
        ({"bbox": "1,2,3"}, {}, "validation_failed"),
        ({"bbox": "126.7,45.6,126.6,45.7"}, {}, "validation_failed"),
        ({"after": "999999"}, {}, "validation_failed"),
        ({}, {"Last-Event-ID": "abc"}, "validation_failed"),
        ({"colour": "red"}, {}, "validation_failed"),
    ]
    for params, headers, code in cases:
        response = await client.get("/api/v1/feed", params=params, headers={**bearer(tokens["viewer"]), **headers})
        body = await response.json()
        assert response.status == 422 and body["error"]["code"] == code, (params, headers, body)
    unknown = await client.get("/api/v1/feed", params={"after": "999999"}, headers=bearer(tokens["viewer"]))
    assert (await unknown.json())["error"]["details"][0]["type"] == "unknown_event_id"
    assert (await client.get("/api/v1/feed")).status == 401


async def test_a_subscriber_that_falls_behind_is_cut_off_not_buffered():
    cut, written = [], []

    async def write(data: bytes) -> None:
        written.append(data)

    subscriber = Subscriber(
        db_feed.Area(), buffer_events=3, on_overflow=lambda: cut.append(True), write=write, backlog=lambda: 1
    )
    frames = [(seq, b"x") for seq in range(1, 5)]
    await subscriber.deliver(frames[:3], b"xxx", 3)
    assert not cut and len(subscriber.frames) == 3 and not written, "a backlog: frames wait for the sender"
    await subscriber.deliver(frames[3:], b"x", 1)
    assert cut == [True] and subscriber.closed and not subscriber.frames
    await subscriber.deliver([(5, b"x")], b"x", 1)
    assert not subscriber.frames and not written and cut == [True]


async def test_a_stalled_client_is_disconnected_and_catches_up_by_last_event_id(db_url, tokens, db):
    app = create_app(settings_for(db_url, feed_buffer_events=20))
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    try:
        # A client that reads its headers, then nothing: its receive window stays tiny.
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        stalled.connect(("127.0.0.1", server.port))
        stalled.sendall(f"GET /api/v1/feed?access_token={tokens['viewer']} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        stalled.setblocking(False)
        await asyncio.sleep(0.2)
        hub = app[keys.FEED]
        assert hub.subscribers == 1
        for _ in range(4):
            batch = {"reports": [report(point=IN_CELL_1 if i % 2 else IN_CELL_2) for i in range(250)]}
            response = await client.post("/api/v1/reports/batch", json=batch, headers=bearer(tokens["inspector"]))
            assert response.status == 200
        for _ in range(200):
            if hub.subscribers == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.subscribers == 0, "the stalled client was cut off"
        received = b""
        stalled.setblocking(True)
        stalled.settimeout(5)
        with contextlib.suppress(ConnectionResetError):
            while chunk := stalled.recv(65536):
                received += chunk
        stalled.close()
        ids = [int(line[4:]) for line in received.split(b"\n") if line.startswith(b"id: ")]
        everything = await all_seqs(db)
        assert ids == everything[: len(ids)], "what it got is a prefix of the log"
        assert len(ids) < len(everything)
        # It reconnects where it stopped and gets the rest, once.
        last_complete = ids[-2] if ids else 0  # the last frame may have been cut mid-way
        feed = await subscribe(client, tokens["viewer"], headers={"Last-Event-ID": str(last_complete)})
        rest = await feed.take(len(everything) - everything.index(last_complete) - 1 if ids else len(everything))
        assert [e.id for e in rest] == [s for s in everything if s > last_complete]
    finally:
        await client.close()

"""The department queue: cursor semantics, long-poll wake-ups across workers, the commit-order trap."""

import asyncio

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from grid_service.handlers.queue import decode_cursor
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, hold_next_sequence, report
from tests.conftest import bearer, settings_for
from tests.served import free_port


async def parked(client) -> None:
    """Until a long-poll of this worker is waiting for news (bounded: 10 s)."""
    tracker = client.server.app[keys.TRACKER]
    for _ in range(1000):
        if tracker.waiters:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no long-poll started waiting")


async def poll(client, token, after=None, wait=0, **extra):
    params = {"wait": str(wait), **extra}
    if after:
        params["after"] = after
    response = await client.get("/api/v1/queue", params=params, headers=bearer(token))
    body = await response.json()
    assert response.status == 200, body
    return body


async def submit(client, tokens, point=IN_CELL_1, category="illegal_construction"):
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"]))
    return (await response.json())["case_id"]


async def test_the_queue_returns_each_change_once_in_order(client, tokens):
    first = await submit(client, tokens, IN_CELL_1)
    await submit(client, tokens, IN_STREET_2)  # street_office's, not ours
    second = await submit(client, tokens, IN_CELL_2)
    page = await poll(client, tokens["department"])
    assert [c["id"] for c in page["cases"]] == [first, second]
    assert page["cases"][0]["seq"] < page["cases"][1]["seq"]
    empty = await poll(client, tokens["department"], page["cursor"])
    assert empty == {"cases": [], "cursor": page["cursor"]}, "nothing repeated, same cursor"

    await client.post(f"/api/v1/cases/{first}/accept", json={}, headers=bearer(tokens["department"]))
    changed = await poll(client, tokens["department"], page["cursor"])
    assert [(c["id"], c["status"]) for c in changed["cases"]] == [(first, "in_progress")]


async def test_paging_with_a_limit_neither_skips_nor_repeats(client, tokens):
    ids = [await submit(client, tokens, point) for point in [IN_CELL_1, IN_CELL_2] * 3]
    seen, cursor = [], None
    for _ in range(10):
        page = await poll(client, tokens["department"], cursor, limit="2")
        if not page["cases"]:
            break
        seen += [c["id"] for c in page["cases"]]
        cursor = page["cursor"]
    assert seen == ids


async def test_a_long_poll_wakes_when_a_change_is_committed(client, tokens):
    page = await poll(client, tokens["department"])
    waiting = asyncio.create_task(poll(client, tokens["department"], page["cursor"], wait=20))
    await parked(client)  # so that only a wake-up can deliver what follows
    assert not waiting.done()
    case_id = await submit(client, tokens)
    woken = await asyncio.wait_for(waiting, timeout=20)
    assert [c["id"] for c in woken["cases"]] == [case_id]


async def test_a_commit_on_one_worker_wakes_a_long_poll_on_another(db_url, client, tokens):
    other = TestClient(TestServer(create_app(settings_for(db_url))))
    await other.start_server()
    try:
        page = await poll(other, tokens["department"])
        waiting = asyncio.create_task(poll(other, tokens["department"], page["cursor"], wait=20))
        await parked(other)
        case_id = await submit(client, tokens)  # the first worker commits
        woken = await asyncio.wait_for(waiting, timeout=20)
        assert [c["id"] for c in woken["cases"]] == [case_id]
    finally:
        await other.close()


async def test_a_lower_sequence_committing_last_is_neither_skipped_nor_repeated(client, tokens, db_url, db):
    case_id = await submit(client, tokens)
    start = await poll(client, tokens["department"])
    assert [c["id"] for c in start["cases"]] == [case_id]

    # Writer A takes the next sequence number and holds its transaction open.
    writer_a, tx, low_seq = await hold_next_sequence(db_url, case_id)
    # Writer B commits a higher number.
    later_case = await submit(client, tokens, IN_CELL_2)
    high_seq = await db.fetchval("SELECT max(seq) FROM events")
    assert high_seq > low_seq

    held = await poll(client, tokens["department"], start["cursor"])
    assert held["cases"] == [], "must not move past a number that may still commit"
    assert held["cursor"] == start["cursor"]

    await tx.commit()
    await writer_a.close()
    released = await poll(client, tokens["department"], start["cursor"])
    assert [c["id"] for c in released["cases"]] == [case_id, later_case]
    assert (await poll(client, tokens["department"], released["cursor"]))["cases"] == []


async def test_a_case_rejected_by_the_department_still_reaches_its_queue(client, tokens):
    case_id = await submit(client, tokens)
    page = await poll(client, tokens["department"])
    await client.post(
        f"/api/v1/cases/{case_id}/reject",
        json={"reason": "wrong_location", "note": "位置不对"},
        headers=bearer(tokens["department"]),
    )
    after = await poll(client, tokens["department"], page["cursor"])
    assert [(c["id"], c["status"]) for c in after["cases"]] == [(case_id, "pending_dispatch")]


async def test_queue_parameters_are_checked(client, tokens):
    for params in ({"after": "%%%"}, {"wait": "61"}, {"limit": "0"}):
        response = await client.get("/api/v1/queue", params=params, headers=bearer(tokens["department"]))
        assert response.status == 422
    response = await client.get("/api/v1/queue", headers=bearer(tokens["admin"]))
    assert response.status == 422
    ok = await client.get("/api/v1/queue", params={"department": "housing"}, headers=bearer(tokens["admin"]))
    assert ok.status == 200


async def test_a_quiet_department_is_answered_a_cursor_past_the_others_news(client, tokens, db):
    for _ in range(3):
        await submit(client, tokens)  # urban_management's news; street_office has none
    quiet = await poll(client, tokens["department:street_office"])
    assert quiet["cases"] == []
    assert decode_cursor(quiet["cursor"]) == await db.fetchval("SELECT max(seq) FROM events")

    # The same while parked: the answer at the end of the wait moves past what came meanwhile.
    waiting = asyncio.create_task(poll(client, tokens["department:street_office"], quiet["cursor"], wait=1))
    await parked(client)
    await submit(client, tokens)
    answer = await waiting
    assert answer["cases"] == []
    assert decode_cursor(answer["cursor"]) == await db.fetchval("SELECT max(seq) FROM events")


async def test_a_quiet_departments_parked_long_poll_is_not_woken_by_other_news(client, tokens):
    quiet = await poll(client, tokens["department:street_office"])
    busy = await poll(client, tokens["department"])
    tracker = client.server.app[keys.TRACKER]
    waiting = asyncio.create_task(poll(client, tokens["department:street_office"], quiet["cursor"], wait=3))
    await parked(client)
    ticket = tracker.ticket("street_office")
    await submit(client, tokens)
    news = await poll(client, tokens["department"], busy["cursor"], wait=5)
    assert news["cases"], "the tracker has seen the commit"
    assert not ticket.is_set() and tracker.news_for("street_office", decode_cursor(quiet["cursor"])) is False
    assert (await waiting)["cases"] == []


async def test_an_abandoned_long_poll_stops_waiting(db_url, tokens):
    # Served as `grid-service serve` serves (web.run_app does not cancel a handler whose client has
    # gone; the test client's server would, and would hide the defect).
    app = create_app(settings_for(db_url))
    runner = web.AppRunner(app, handler_cancellation=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    tracker = app[keys.TRACKER]
    try:
        session = aiohttp.ClientSession()
        request = asyncio.create_task(
            session.get(
                f"http://127.0.0.1:{port}/api/v1/queue", params={"wait": "60"}, headers=bearer(tokens["department"])
            )
        )
        for _ in range(1000):
            if tracker.waiters:
                break
            await asyncio.sleep(0.01)
        request.cancel()
        await session.close()  # the client goes away mid-wait
        quiet_for = 0  # consecutive looks with nobody waiting (a live long-poll waits in slices of 1 s)
        for _ in range(150):  # bounded: 15 s, against a wait of 60
            quiet_for = quiet_for + 1 if tracker.waiters == 0 else 0
            if quiet_for == 20:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the long-poll kept waiting for a client that had gone")
    finally:
        await runner.cleanup()


async def test_a_departments_news_at_the_start_of_a_burst_reaches_its_parked_long_poll(client, tokens, db_url):
    """The worker's tracker falls more than a page behind (a gap holds it while a burst commits):
    it must read every page, not jump to the end, or a department whose only news is early in the
    burst would be told it has none."""
    quiet_case = await submit(client, tokens, IN_STREET_2)  # street_office's
    start = await poll(client, tokens["department:street_office"])
    assert [c["id"] for c in start["cases"]] == [quiet_case]
    waiting = asyncio.create_task(poll(client, tokens["department:street_office"], start["cursor"], wait=20))
    await parked(client)
    writer, tx, _ = await hold_next_sequence(db_url, quiet_case)  # its news, held below the burst
    for _ in range(5):  # 2,500 reports, 5,000 events for urban_management
        batch = [report("exposed_garbage", IN_CELL_1) for _ in range(500)]
        response = await client.post(
            "/api/v1/reports/batch", json={"reports": batch}, headers=bearer(tokens["inspector"])
        )
        assert response.status == 200
    await asyncio.sleep(1.5)  # the burst is older than the settle time: a reader may take it as safe
    await tx.commit()
    await writer.close()
    answer = await waiting
    assert [c["id"] for c in answer["cases"]] == [quiet_case]

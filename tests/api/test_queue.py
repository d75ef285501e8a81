"""The department queue: cursor semantics, long-poll wake-ups across workers, the commit-order trap."""

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, hold_next_sequence, report
from tests.conftest import bearer, settings_for


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
        f"/api/v1/cases/{case_id}/reject", json={"reason": "wrong_location"}, headers=bearer(tokens["department"])
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

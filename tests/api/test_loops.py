"""A loop that keeps failing is named by /readyz, and runs again by itself once the fault is gone."""

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from tests.api.helpers import report
from tests.api.test_queue import parked
from tests.conftest import bearer, settings_for


async def readiness(client):
    response = await client.get("/readyz")
    return response.status, await response.json()


async def until(client, wanted_status, predicate=lambda body: True):
    for _ in range(200):  # bounded: 20 s
        status, body = await readiness(client)
        if status == wanted_status and predicate(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never became {wanted_status}: {body}")


async def test_readyz_names_the_loops_that_fail_and_they_recover_by_themselves(db_url, db, tokens):
    client = TestClient(TestServer(create_app(settings_for(db_url, deadline_sweep_s=0.05))))
    await client.start_server()
    try:
        await until(client, 200)
        poll = asyncio.create_task(  # a parked long-poll: the queue tracker follows the log
            client.get("/api/v1/queue", params={"wait": "20"}, headers=bearer(tokens["department"]))
        )
        await parked(client)
        # A real fault of the database, not of the process: the log's table is gone for a while.
        await db.execute("ALTER TABLE events RENAME TO events_away")
        try:
            body = await until(client, 503, lambda b: "deadline_watch" in b["details"].get("loops", {}))
            assert "UndefinedTableError" in body["details"]["loops"]["deadline_watch"]
            assert body["details"]["database"] == "ok", "the database answers; a loop does not run"
        finally:
            await db.execute("ALTER TABLE events_away RENAME TO events")
        body = await until(client, 200)
        assert "loops" not in body["details"]
        poll.cancel()
    finally:
        await client.close()


def pending_event_waits() -> int:
    return sum(1 for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") == "Event.wait")


async def test_the_listener_reconnects_without_leaving_tasks_behind(client, db):
    loops = client.server.app[keys.LOOPS]
    before = pending_event_waits()
    for _ in range(5):
        restarts = loops.state("listener").restarts
        await db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'grid-service-listener'"
        )
        for _ in range(100):  # bounded: 10 s for the listener to notice and connect again
            state = loops.state("listener")
            if state.restarts > restarts and state.failure is None:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the listener did not come back")
    assert pending_event_waits() <= before, "each reconnect left a pending task"


async def test_a_configuration_that_cannot_be_read_is_named_by_readyz_and_the_worker_keeps_its_own(db_url, db, tokens):
    client = TestClient(TestServer(create_app(settings_for(db_url, config_poll_s=0.05))))
    await client.start_server()
    try:
        await until(client, 200)
        # a stored generation the worker cannot take (a step limit no file would validate)
        await db.execute(
            """UPDATE config_state SET generation = generation + 1,
                      filing = '{"steps": {"accept_minutes": -1}}'::jsonb"""
        )
        body = await until(client, 503, lambda b: "configuration" in b["details"].get("loops", {}))
        assert "accept_minutes" in body["details"]["loops"]["configuration"]
        # it keeps answering with the configuration it has
        response = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
        assert response.status == 201
    finally:
        await client.close()

"""PostgreSQL restarted (fast and immediate) or the service's backends terminated, under load, with
two workers: afterwards every loop runs again, and nothing was lost, answered 500, or left stuck.

The server is the test's own (tests/pg_cluster.py), on loopback; the load is bounded in time.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from grid_service.configuration.files import read_config_dir
from grid_service.db import config_store
from grid_service.db.migrate import migrate
from grid_service.db.pool import connect
from tests.api.helpers import IN_CELL_1, Clock, report
from tests.api.sse import EventReader
from tests.api.test_deadline_watch import MONDAY_9
from tests.api.test_queue import parked
from tests.conftest import FIXTURE_CONFIG, bearer, make_token, settings_for, with_database
from tests.pg_cluster import PgCluster

LOAD_WRITERS = 6
RECOVERY_S = 30  # bound on the wait for both workers to be ready again


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[PgCluster]:
    server = await asyncio.to_thread(PgCluster)
    await asyncio.to_thread(server.start)
    try:
        admin = await asyncpg.connect(server.url)
        await admin.execute("CREATE DATABASE service")
        await admin.close()
        conn = await connect(with_database(server.url, "service"))
        await migrate(conn)
        await config_store.store_bundle(conn, read_config_dir(FIXTURE_CONFIG))
        await conn.close()
        yield server
    finally:
        await asyncio.to_thread(server.remove)


@pytest.fixture
async def service(cluster: PgCluster) -> AsyncIterator[tuple[list[TestClient], dict[str, str], Clock, str]]:
    url = with_database(cluster.url, "service")
    conn = await connect(url)
    tokens = {
        "inspector": await make_token(conn, "inspector"),
        "department": await make_token(conn, "department", "urban_management"),
        "viewer": await make_token(conn, "viewer"),
    }
    await conn.close()
    clock = Clock(MONDAY_9)
    settings = settings_for(url, deadline_sweep_s=0.2, pool_max_size=20, db_timeout_s=2.0)
    clients = [TestClient(TestServer(create_app(settings, clock=clock))) for _ in range(2)]
    for client in clients:
        await client.start_server()
    try:
        yield clients, tokens, clock, url
    finally:
        for client in clients:
            await client.close()


def somewhere_in_cell_1() -> tuple[float, float]:
    lon, lat = IN_CELL_1
    return lon + random.uniform(-0.004, 0.004), lat + random.uniform(-0.002, 0.002)


async def load(
    clients, token, stop: asyncio.Event, answers: Counter[int], acknowledged: list[str], created: asyncio.Queue[str]
) -> None:
    async def writer(n: int) -> None:
        while not stop.is_set():
            client = clients[n % 2]
            try:
                response = await client.post(
                    "/api/v1/reports", json=report("outdoor_barbecue", somewhere_in_cell_1()), headers=bearer(token)
                )
                answers[response.status] += 1
                if response.status in (200, 201):
                    body = await response.json()
                    acknowledged.append(body["report_id"])
                    # a duplicate's too: the report that opened its case may have lost its answer
                    created.put_nowait(body["case_id"])
            except OSError:
                answers[0] += 1  # the connection itself failed: not acknowledged, not a 500
            await asyncio.sleep(0.01)

    await asyncio.gather(*(writer(n) for n in range(LOAD_WRITERS)))


CLERKS = 4  # concurrent accepts: the casework batches of both workers hold several at once


async def accepting(clients, token, created: asyncio.Queue[str], answers: Counter[int]) -> None:
    """The department's clerks accept what the writers created while the fault happens (casework
    batches of both workers in flight): each accept is answered 200, or 503 while the database is
    away, or 409 when the case was accepted already (a retry whose first answer was lost, a
    duplicate's case); never 500."""
    await asyncio.gather(*(_clerk(clients, token, created, answers, n) for n in range(CLERKS)))


async def _clerk(clients, token, created: asyncio.Queue[str], answers: Counter[int], n: int) -> None:
    while True:
        case_id = await created.get()
        if case_id == "":  # the writers stopped: done once nothing is left to try again
            created.put_nowait(case_id)  # for the other clerks
            if created.qsize() == 1:
                return
            await asyncio.sleep(0.01)
            continue
        n += 1
        try:
            response = await clients[n % 2].post(f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(token))
            answers[response.status] += 1
            retry = response.status == 503
        except OSError:
            answers[0] += 1
            retry = True
        if retry:  # tried again later: nothing may stay unaccepted
            created.put_nowait(case_id)
        await asyncio.sleep(0.005)


async def ready(client) -> bool:
    response = await client.get("/readyz")
    return response.status == 200


async def until_ready(clients) -> None:
    for _ in range(RECOVERY_S * 10):
        if all([await ready(c) for c in clients]):
            return
        await asyncio.sleep(0.1)
    details = [await (await c.get("/readyz")).json() for c in clients]
    raise AssertionError(f"not ready again within {RECOVERY_S}s: {details}")


async def terminate_backends(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


async def caught_up(client, token) -> str:
    """The department's cursor past everything already in its queue."""
    cursor = ""
    for _ in range(100):
        response = await client.get("/api/v1/queue", params={"after": cursor, "limit": "500"}, headers=bearer(token))
        body = await response.json()
        cursor = body["cursor"]
        if not body["cases"]:
            return cursor
    raise AssertionError("the queue never ran dry")


async def open_feed(client, token) -> EventReader:
    response = await client.get("/api/v1/feed", params={"access_token": token})
    assert response.status == 200
    return EventReader(response)


async def case_created(reader: EventReader, case_id: str) -> None:
    while True:  # bounded by next()'s timeout
        event = await reader.next(timeout=15)
        if event.data["properties"]["id"] == case_id:
            return


@pytest.mark.parametrize("fault", ["fast", "immediate", "terminate"])
async def test_after_a_database_fault_under_load_every_loop_runs_again_and_nothing_is_lost(cluster, service, fault):
    clients, tokens, clock, url = service
    # Before the fault: a feed subscriber and a parked long-poll on each worker, so the hub and the
    # tracker of both are following the log when it happens.
    feeds_before = [await open_feed(c, tokens["viewer"]) for c in clients]
    polls = [
        asyncio.create_task(c.get("/api/v1/queue", params={"wait": "2"}, headers=bearer(tokens["department"])))
        for c in clients
    ]
    stop, answers, acknowledged, accepts = asyncio.Event(), Counter(), [], Counter()
    created: asyncio.Queue[str] = asyncio.Queue()
    load_task = asyncio.create_task(load(clients, tokens["inspector"], stop, answers, acknowledged, created))
    accept_task = asyncio.create_task(accepting(clients, tokens["department"], created, accepts))
    await asyncio.sleep(0.5)
    if fault == "terminate":
        await terminate_backends(url)
    else:
        await asyncio.to_thread(cluster.restart, fault)
    await until_ready(clients)
    await asyncio.sleep(0.5)  # load goes on against the recovered database
    stop.set()
    await load_task
    created.put_nowait("")  # the last one: the clerk stops once every case before it is accepted
    await asyncio.wait_for(accept_task, timeout=RECOVERY_S)
    for poll in await asyncio.gather(*polls, return_exceptions=True):  # those parked through the fault
        assert isinstance(poll, BaseException) or poll.status != 500

    assert answers[500] == 0, answers
    assert answers[201] > 0, answers
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM reports WHERE id = ANY($1::uuid[])", acknowledged)
        assert stored == len(acknowledged), "every acknowledged report is stored"
        assert accepts[500] == 0 and accepts[200] > 0, accepts
        accepted = await conn.fetch(
            "SELECT c.status, count(e.*) AS accepts FROM cases c"
            " LEFT JOIN events e ON e.case_id = c.id AND e.type = 'case.accepted'"
            " WHERE c.id IN (SELECT case_id FROM reports WHERE id = ANY($1::uuid[])) GROUP BY c.id",
            acknowledged,
        )
        assert {(r["status"], r["accepts"]) for r in accepted} == {("in_progress", 1)}, "each accepted once, none stuck"

        for here, there in ((0, 1), (1, 0)):
            # A new subscriber of each worker receives a report committed by the other one.
            reader = await open_feed(clients[here], tokens["viewer"])
            created = await clients[there].post(
                "/api/v1/reports",
                json=report("outdoor_barbecue", somewhere_in_cell_1()),
                headers=bearer(tokens["inspector"]),
            )
            assert created.status == 201
            await case_created(reader, (await created.json())["case_id"])
            reader.response.close()

            # A long-poll parked on one worker is woken by a commit on the other (its wait is long:
            # an answer holding the case means it was woken, not timed out).
            cursor = await caught_up(clients[here], tokens["department"])
            poll = asyncio.create_task(
                clients[here].get(
                    "/api/v1/queue", params={"wait": "20", "after": cursor}, headers=bearer(tokens["department"])
                )
            )
            await parked(clients[here])
            created = await clients[there].post(
                "/api/v1/reports",
                json=report("illegal_construction", somewhere_in_cell_1(), client_id=uuid.uuid4().hex),
                headers=bearer(tokens["inspector"]),
            )
            case_id = (await created.json())["case_id"]
            answer = await (await poll).json()
            assert case_id in [c["id"] for c in answer["cases"]]

        # The deadline watch of the workers records an overdue case again.
        created = await clients[0].post(
            "/api/v1/reports",
            json=report("exposed_garbage", somewhere_in_cell_1()),
            headers=bearer(tokens["inspector"]),
        )
        case_id = (await created.json())["case_id"]
        clock.advance(hours=1)  # past its half hour
        for _ in range(100):
            if await conn.fetchval(
                "SELECT count(*) FROM events WHERE case_id = $1::uuid AND type = 'case.overdue'", case_id
            ):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no worker recorded the overdue case")
        assert all(not c.server.app[keys.LOOPS].problems() for c in clients)
    finally:
        await conn.close()
        for reader in feeds_before:
            reader.response.close()

"""Failover: the primary dies (``pg_ctl -m immediate``), its synchronous standby is promoted, and the
service — a ``grid-service serve`` process with two workers, never restarted, its database URL
naming both hosts with ``target_session_attrs=read-write`` — follows by itself: no acknowledged
report is lost, intake answers 2xx again, and the live feed, the department queue's long-poll and
the deadline watch work on the new primary.

Both servers are the test's own (tests/pg_cluster.py), on loopback; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.configuration.files import read_config_dir
from grid_service.db import config_store
from grid_service.db.migrate import migrate
from grid_service.db.pool import connect
from tests.api.helpers import IN_CELL_1, report
from tests.api.sse import EventReader
from tests.conftest import FIXTURE_CONFIG, bearer, make_token, settings_for, with_database
from tests.pg_cluster import PgCluster, binaries_required, have_binaries
from tests.served import start_serving

pytestmark = pytest.mark.skipif(
    not have_binaries() and not binaries_required(), reason="the PostgreSQL server binaries are not installed"
)

CLIENTS = 6  # inspectors sending reports at once, each with its own token
FOLLOW_S = 30.0  # bound on the wait for the first 2xx after the primary's death
DATABASE = "service"
STANDBY = "standby"  # its application_name, which synchronous_standby_names names
# No per-caller limits in the way of the load (the inspectors send as fast as they are answered),
# and a deadline watch that sweeps often enough for the test to see it.
SERVICE_ENV = {
    "GRID_SERVICE_TOKEN_RATE_PER_S": "0",
    "GRID_SERVICE_ADDRESS_RATE_PER_S": "0",
    "GRID_SERVICE_DEADLINE_SWEEP_S": "0.5",
}


@dataclass
class Replicated:
    primary: PgCluster
    standby: PgCluster

    @property
    def service_url(self) -> str:
        """Both hosts, primary first, as an operator writes it."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        return f"postgresql://postgres@{hosts}/{DATABASE}?target_session_attrs=read-write"


async def replicated_pair(*, synchronous: bool = True) -> Replicated:
    """A primary holding the migrated service database and the fixture configuration, and a hot
    standby streaming from it (synchronous: a commit is acknowledged once the standby flushed it)."""
    primary = await service_server()
    standby = await asyncio.to_thread(PgCluster.standby_of, primary, name=STANDBY)
    await asyncio.to_thread(standby.start)
    if synchronous:
        await asyncio.to_thread(primary.require_synchronous, STANDBY)
    return Replicated(primary, standby)


async def service_server() -> PgCluster:
    """A server of the test's own holding the migrated service database and the fixture configuration."""
    primary = await asyncio.to_thread(PgCluster)
    await asyncio.to_thread(primary.start)
    admin = await asyncpg.connect(primary.url)
    await admin.execute(f"CREATE DATABASE {DATABASE}")
    await admin.close()
    conn = await connect(with_database(primary.url, DATABASE))
    try:
        await migrate(conn)
        await config_store.store_bundle(conn, read_config_dir(FIXTURE_CONFIG))
    finally:
        await conn.close()
    return primary


@pytest.fixture
async def pair() -> AsyncIterator[Replicated]:
    servers = await replicated_pair()
    try:
        yield servers
    finally:
        await asyncio.to_thread(servers.standby.remove)
        await asyncio.to_thread(servers.primary.remove)


def somewhere_in_cell_1() -> tuple[float, float]:
    lon, lat = IN_CELL_1
    return lon + random.uniform(-0.004, 0.004), lat + random.uniform(-0.002, 0.002)


@dataclass
class Intake:
    """Inspectors sending reports until stopped; what was acknowledged, and when the first report
    sent after the primary's death was acknowledged."""

    base: str
    tokens: list[str]
    answers: Counter[int] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)  # client ids answered 2xx
    died_at: float | None = None  # monotonic; set once the old primary is gone
    first_after: float | None = None  # the first 2xx to a report sent after died_at
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answered_again: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            await asyncio.gather(*(self._inspector(session, token) for token in self.tokens))

    async def _inspector(self, session: aiohttp.ClientSession, token: str) -> None:
        while not self.stop.is_set():
            body = report("outdoor_barbecue", somewhere_in_cell_1())
            sent_at = time.monotonic()
            try:
                async with session.post(f"{self.base}/api/v1/reports", json=body, headers=bearer(token)) as answer:
                    status = answer.status
                    await answer.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 0  # the connection itself failed: not acknowledged
            self.answers[status] += 1
            if 200 <= status < 300:
                self.acknowledged.append(body["client_id"])
                if self.died_at is not None and sent_at > self.died_at and self.first_after is None:
                    self.first_after = time.monotonic()
                    self.answered_again.set()
            await asyncio.sleep(0.005 if 200 <= status < 300 else 0.05)


async def fail_over(pair: Replicated, intake: Intake) -> float:
    """Kill the primary, promote the standby; seconds from the death to the first 2xx after it."""
    await asyncio.to_thread(pair.primary.kill)
    intake.died_at = time.monotonic()
    await asyncio.to_thread(pair.standby.promote)
    await asyncio.wait_for(intake.answered_again.wait(), timeout=FOLLOW_S)
    assert intake.first_after is not None
    return intake.first_after - intake.died_at


async def caught_up(session: aiohttp.ClientSession, base: str, token: str) -> str:
    """The department's cursor past everything already in its queue."""
    cursor = ""
    for _ in range(100):
        async with session.get(
            f"{base}/api/v1/queue", params={"after": cursor, "limit": "500"}, headers=bearer(token)
        ) as answer:
            assert answer.status == 200, await answer.text()
            body = await answer.json()
        cursor = body["cursor"]
        if not body["cases"]:
            return cursor
    raise AssertionError("the queue never ran dry")


async def post_report(session: aiohttp.ClientSession, base: str, token: str, category: str) -> str:
    async with session.post(
        f"{base}/api/v1/reports", json=report(category, somewhere_in_cell_1()), headers=bearer(token)
    ) as answer:
        assert answer.status == 201, await answer.text()
        case_id: str = (await answer.json())["case_id"]
        return case_id


async def until_case_in_feed(reader: EventReader, case_id: str) -> None:
    while True:  # bounded by next()'s timeout
        event = await reader.next(timeout=15)
        if event.data.get("properties", {}).get("id") == case_id:
            return


async def test_after_the_primary_dies_and_its_standby_is_promoted_the_service_follows_and_loses_nothing(pair):
    conn = await connect(with_database(pair.primary.url, DATABASE))
    try:
        inspectors = [await make_token(conn, "inspector") for _ in range(CLIENTS)]
        department = await make_token(conn, "department", "urban_management")
        viewer = await make_token(conn, "viewer")
    finally:
        await conn.close()  # committed synchronously: the standby has the tokens
    server, base = await start_serving(pair.service_url, workers=2, env=SERVICE_ENV)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async with session.get(f"{base}/readyz") as ready:
                assert ready.status == 200, await ready.text()
            feed = await session.get(f"{base}/api/v1/feed", params={"access_token": viewer})
            assert feed.status == 200
            reader = EventReader(feed)  # opened on the old primary, read after the failover

            intake = Intake(base, inspectors)
            load = asyncio.create_task(intake.run())
            await asyncio.sleep(1.0)  # intake in full flow when the primary dies
            followed_s = await fail_over(pair, intake)
            await asyncio.sleep(0.5)  # and on for a while against the new primary
            intake.stop.set()
            await load
            print(f"\nfailover: first 2xx {followed_s:.2f}s after the primary died; answers {dict(intake.answers)}")

            assert intake.answers[500] == 0, intake.answers
            new_primary = await connect(with_database(pair.standby.url, DATABASE))
            try:
                assert not await new_primary.fetchval("SELECT pg_is_in_recovery()")
                stored = await new_primary.fetchval(
                    "SELECT count(DISTINCT client_id) FROM reports WHERE client_id = ANY($1::text[])",
                    intake.acknowledged,
                )
                assert stored == len(set(intake.acknowledged)), "every acknowledged report is on the new primary"

                # The live feed opened before the failover delivers a case made after it.
                case_id = await post_report(session, base, inspectors[0], "illegal_construction")
                await until_case_in_feed(reader, case_id)

                # A department long-poll parked on the new primary is woken by a new case of its
                # own (its wait is long: an answer holding the case was woken, not timed out).
                cursor = await caught_up(session, base, department)
                poll = asyncio.create_task(
                    session.get(
                        f"{base}/api/v1/queue", params={"wait": "20", "after": cursor}, headers=bearer(department)
                    )
                )
                await asyncio.sleep(0.3)  # for the poll to park (a process's waiters cannot be seen from here)
                case_id = await post_report(session, base, inspectors[1], "illegal_construction")
                async with await poll as answer:
                    assert answer.status == 200
                    assert case_id in [c["id"] for c in (await answer.json())["cases"]]

                # The deadline watch records a case overdue whose deadline passes after the failover.
                case_id = await post_report(session, base, inspectors[2], "exposed_garbage")
                await new_primary.execute(
                    "UPDATE cases SET deadline_at = now() + interval '1 second' WHERE id = $1::uuid", case_id
                )
                for _ in range(150):
                    if await new_primary.fetchval(
                        "SELECT count(*) FROM events WHERE case_id = $1::uuid AND type = 'case.overdue'", case_id
                    ):
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("no worker recorded the overdue case on the new primary")

                async with session.get(f"{base}/readyz") as ready:
                    assert ready.status == 200, await ready.text()
            finally:
                await new_primary.close()
                feed.close()
    finally:
        server.terminate()
        await server.wait()


async def test_a_first_host_that_never_answers_does_not_keep_the_service_from_the_next():
    """A host that accepts connections and then says nothing (a hung machine; one that drops
    packets behaves alike) is given a few seconds, then the next host is tried; later connections
    go to the host that answered first. The client library alone would spend its whole timeout,
    60 s, on the first host and never try the next."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # never answered

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    server = await service_server()
    try:
        silent_port = silent.sockets[0].getsockname()[1]
        hosts = f"127.0.0.1:{silent_port},127.0.0.1:{server.port}"
        url = f"postgresql://postgres@{hosts}/{DATABASE}?target_session_attrs=read-write"
        conn = await connect(with_database(server.url, DATABASE))
        try:
            inspector = await make_token(conn, "inspector")
        finally:
            await conn.close()
        client = TestClient(TestServer(create_app(settings_for(url, pool_min_size=4))))
        await client.start_server()  # the pool, the LISTEN connection
        try:
            ready = await client.get("/readyz")
            assert ready.status == 200, await ready.text()
            answer = await client.post(
                "/api/v1/reports", json=report("outdoor_barbecue", somewhere_in_cell_1()), headers=bearer(inspector)
            )
            assert answer.status == 201, await answer.text()
            assert held, "the silent host was tried first"
        finally:
            await client.close()
    finally:
        silent.close()
        for writer in held:
            writer.close()
        await asyncio.to_thread(server.remove)

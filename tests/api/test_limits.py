"""Per-caller limits: requests per token and per address (429 with Retry-After and the error
envelope), a retry of a stored report always answered, feeds and long-polls per token, shared by
two workers, released when a worker is killed; header and body timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import psutil
import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app, server_options
from tests.api.helpers import IN_CELL_1, IN_CELL_2, report
from tests.conftest import bearer, make_token, settings_for
from tests.served import start_serving

SLOW = 0.01  # requests a second: within a test, the burst is all a caller gets


@contextlib.asynccontextmanager
async def limited(db_url: str, **limits: object) -> AsyncIterator[TestClient]:
    settings = settings_for(db_url, **limits)
    server = TestServer(create_app(settings))
    await server.start_server(**server_options(settings))  # as serve runs it: the header timeout
    client = TestClient(server)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def assert_limited(response: aiohttp.ClientResponse, limit: str) -> None:
    body = await response.json()
    assert response.status == 429, body
    assert body["error"]["code"] == "too_many_requests"
    assert limit in body["error"]["message"]
    assert int(response.headers["Retry-After"]) >= 1


async def test_a_token_past_its_burst_is_refused_and_others_are_not(db_url, tokens) -> None:
    async with limited(db_url, token_rate_per_s=SLOW, token_burst=3) as client:
        for _ in range(3):
            assert (await client.get("/api/v1/categories", headers=bearer(tokens["viewer"]))).status == 200
        await assert_limited(await client.get("/api/v1/categories", headers=bearer(tokens["viewer"])), "token")
        assert (await client.get("/api/v1/categories", headers=bearer(tokens["dispatcher"]))).status == 200
        assert (await client.get("/healthz")).status == 200


async def test_a_retry_of_a_stored_report_is_answered_past_the_limit(db_url, db, tokens) -> None:
    async with limited(db_url, token_rate_per_s=SLOW, token_burst=2) as client:
        first, second = report(point=IN_CELL_1), report(point=IN_CELL_2, category="outdoor_barbecue")
        answers = []
        for body in (first, second):
            response = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
            assert response.status == 201
            answers.append(await response.json())
        stored = await db.fetchval("SELECT count(*) FROM reports")
        # The burst is spent: a new report is refused and nothing is written…
        await assert_limited(
            await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"])), "token"
        )
        assert await db.fetchval("SELECT count(*) FROM reports") == stored
        # …but a phone resending one whose answer it lost gets that answer.
        retry = await client.post("/api/v1/reports", json=first, headers=bearer(tokens["inspector"]))
        assert retry.status == 200
        assert await retry.json() == answers[0]
        changed = await client.post(
            "/api/v1/reports", json={**first, "description": "another"}, headers=bearer(tokens["inspector"])
        )
        assert changed.status == 409
        batch = await client.post(
            "/api/v1/reports/batch",
            json={"reports": [second, report(), {"bad": 1}]},
            headers=bearer(tokens["inspector"]),
        )
        assert batch.status == 200
        results = (await batch.json())["results"]
        assert [r["status_code"] for r in results] == [200, 429, 422]
        assert results[0]["report"] == answers[1]
        assert results[1]["error"]["code"] == "too_many_requests"
        assert await db.fetchval("SELECT count(*) FROM reports") == stored
        only_new = await client.post(
            "/api/v1/reports/batch", json={"reports": [report(), report()]}, headers=bearer(tokens["inspector"])
        )
        await assert_limited(only_new, "token")  # nothing in it was stored: refused as a whole
        invalid = await client.post("/api/v1/reports", json={"nonsense": True}, headers=bearer(tokens["inspector"]))
        await assert_limited(invalid, "token")  # refused before it is read as a report
        assert await db.fetchval("SELECT count(*) FROM reports") == stored


async def test_an_open311_retry_is_answered_past_the_limit(db_url, db, tokens) -> None:
    async with limited(db_url, token_rate_per_s=SLOW, token_burst=1) as client:
        form = {
            "api_key": tokens["inspector"],
            "service_code": "outdoor_barbecue",
            "lat": "45.6025",
            "long": "126.605",
        }
        created = await client.post("/open311/v2/requests.json", data=form)
        assert created.status == 200, await created.text()
        [first] = await created.json()
        again = await client.post("/open311/v2/requests.json", data=form)  # identical: a retry
        assert again.status == 200, await again.text()
        assert (await again.json())[0]["service_request_id"] == first["service_request_id"]
        other = await client.post("/open311/v2/requests.json", data={**form, "description": "another"})
        assert other.status == 429
        assert "Retry-After" in other.headers
        assert await db.fetchval("SELECT count(*) FROM reports") == 1


async def test_an_address_past_its_burst_is_refused_whatever_the_token(db_url, tokens) -> None:
    async with limited(db_url, address_rate_per_s=SLOW, address_burst=3) as client:
        for role in ("viewer", "dispatcher", "admin"):
            assert (await client.get("/api/v1/categories", headers=bearer(tokens[role]))).status == 200
        await assert_limited(await client.get("/api/v1/categories", headers=bearer(tokens["receiver"])), "address")
        await assert_limited(await client.get("/api/v1/categories"), "address")  # before any token is looked up
        assert (await client.get("/readyz")).status == 200  # a balancer's probe is never limited


async def test_feeds_and_long_polls_per_token(db_url, tokens) -> None:
    async with limited(db_url, feeds_per_token=1, long_polls_per_token=1) as client:
        feed = await client.get("/api/v1/feed", headers=bearer(tokens["viewer"]))
        assert feed.status == 200
        await assert_limited(await client.get("/api/v1/feed", headers=bearer(tokens["viewer"])), "feeds")
        other = await client.get("/api/v1/feed", headers=bearer(tokens["dispatcher"]))
        assert other.status == 200  # another token's allowance is its own
        other.close()
        feed.close()
        hub = client.server.app[keys.FEED]
        for _ in range(1000):  # bounded: 10 s, until the server has seen both closes
            if not hub.subscribers:
                break
            await asyncio.sleep(0.01)
        again = await client.get("/api/v1/feed", headers=bearer(tokens["viewer"]))
        assert again.status == 200, await again.text()
        again.close()

        clerk = bearer(tokens["department"])
        parked = asyncio.create_task(client.get("/api/v1/queue", params={"wait": "20"}, headers=clerk))
        tracker = client.server.app[keys.TRACKER]
        for _ in range(1000):
            if tracker.waiters:
                break
            await asyncio.sleep(0.01)
        await assert_limited(await client.get("/api/v1/queue", params={"wait": "5"}, headers=clerk), "long-polls")
        assert (await client.get("/api/v1/queue", params={"wait": "0"}, headers=clerk)).status == 200  # no wait
        assert (await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))).status == 201
        assert (await parked).status == 200
        assert (await client.get("/api/v1/queue", params={"wait": "0.1"}, headers=clerk)).status == 200


async def test_a_token_allowance_is_shared_by_two_workers(db_url: str, db: asyncpg.Connection) -> None:
    viewer = await make_token(db, "viewer")
    env = {"GRID_SERVICE_TOKEN_RATE_PER_S": str(SLOW), "GRID_SERVICE_TOKEN_BURST": "10"}
    server, base = await start_serving(db_url, workers=2, env=env)
    try:
        statuses = []
        for _ in range(40):  # a connection each: the kernel spreads them over both workers
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/api/v1/categories", headers=bearer(viewer)) as response:
                    statuses.append(response.status)
        # Counted per worker, the token would have had up to 20.
        assert statuses.count(200) == 10
        assert statuses.count(429) == 30
    finally:
        server.terminate()
        await server.wait()


async def test_what_a_killed_worker_held_is_released(db_url: str, db: asyncpg.Connection) -> None:
    viewer = await make_token(db, "viewer")
    server, base = await start_serving(db_url, workers=2, env={"GRID_SERVICE_FEEDS_PER_TOKEN": "1"})
    try:
        async with aiohttp.ClientSession() as session:
            feed = await session.get(f"{base}/api/v1/feed", headers=bearer(viewer))
            assert feed.status == 200
            async with session.get(f"{base}/api/v1/feed", headers=bearer(viewer)) as second:
                assert second.status == 429
            for worker in psutil.Process(server.pid).children():
                worker.send_signal(signal.SIGKILL)  # kill -9: no cleanup runs in the worker
            feed.close()
            statuses = []
            for _ in range(100):  # bounded: 20 s, for the replacements to start
                try:
                    async with aiohttp.ClientSession() as fresh:
                        async with fresh.get(f"{base}/api/v1/feed", headers=bearer(viewer)) as response:
                            statuses.append(response.status)
                            if response.status == 200:
                                break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)
            assert statuses and statuses[-1] == 200, statuses
            assert 429 not in statuses
    finally:
        server.terminate()
        await server.wait()


async def test_a_connection_that_sends_no_headers_is_closed(db_url) -> None:
    async with limited(db_url, header_timeout_s=0.5) as client:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # closed by the server, nothing sent
        writer.close()


async def test_a_stalled_body_is_answered_408(db_url, db, tokens) -> None:
    async with limited(db_url, body_idle_timeout_s=0.5) as client:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        head = (
            "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {tokens['inspector']}\r\nContent-Length: 400\r\n\r\n"
        )
        writer.write(head.encode() + b'{"client_id": "stalled"')
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        status_line, _, headers = head.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 408 Request Timeout", head
        length = next(
            int(line.split(b":")[1]) for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        body = await asyncio.wait_for(reader.readexactly(length), timeout=10)
        writer.close()
        assert b'"code":"request_timeout"' in body
        assert await db.fetchval("SELECT count(*) FROM reports") == 0


@pytest.mark.parametrize("limit", ["token_rate_per_s", "address_rate_per_s"])
async def test_a_zero_rate_means_no_limit(db_url, tokens, limit) -> None:
    async with limited(db_url, **{limit: 0, "token_burst": 1, "address_burst": 1}) as client:
        for _ in range(5):
            assert (await client.get("/api/v1/categories", headers=bearer(tokens["viewer"]))).status == 200


async def test_refused_intakes_share_their_lookups_and_each_gets_its_own_answer(db_url, db, tokens) -> None:
    """Many intakes past the limit at once: the retries among them are answered with their own
    reports, every other one refused, whichever lookup they shared."""
    async with limited(db_url, token_rate_per_s=SLOW, token_burst=4) as client:
        inspector = bearer(tokens["inspector"])
        stored = [report(point=IN_CELL_1, category="outdoor_barbecue"), report(point=IN_CELL_2)]
        first = []
        for body in stored:
            response = await client.post("/api/v1/reports", json=body, headers=inspector)
            assert response.status == 201
            first.append(await response.json())
        # Another inspector's client_id is no retry of this one's.
        borrowed = report()
        assert (await client.post("/api/v1/reports", json=borrowed, headers=bearer(tokens["inspector2"]))).status == 201
        await client.post("/api/v1/reports", json=report(), headers=inspector)
        await client.post("/api/v1/reports", json=report(), headers=inspector)  # the burst is spent
        before = await db.fetchval("SELECT count(*) FROM reports")
        bodies = [stored[i % 2] if i % 3 == 0 else borrowed if i % 3 == 1 else report() for i in range(30)]
        lookups = client.server.app[keys.STORED_LOOKUPS]
        queries_before = lookups.queries
        answers = await asyncio.gather(*(client.post("/api/v1/reports", json=b, headers=inspector) for b in bodies))
        assert lookups.queries - queries_before < len(bodies) // 2  # shared, not one a request
        for i, answer in enumerate(answers):
            if i % 3 == 0:
                assert answer.status == 200, i
                assert await answer.json() == first[i % 2]
            else:
                assert answer.status == 429, i
        assert await db.fetchval("SELECT count(*) FROM reports") == before


async def test_an_address_past_its_limit_still_gets_its_stored_reports(db_url, db, tokens) -> None:
    """A whole office behind one address: past the address's rate, a phone's retry is answered."""
    async with limited(db_url, address_rate_per_s=SLOW, address_burst=2) as client:
        body = report()
        first = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
        assert first.status == 201
        form = {
            "api_key": tokens["inspector2"],
            "service_code": "outdoor_barbecue",
            "lat": "45.6025",
            "long": "126.605",
        }
        created = await client.post("/open311/v2/requests.json", data=form)
        assert created.status == 200
        stored = await db.fetchval("SELECT count(*) FROM reports")
        retry = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
        assert retry.status == 200
        assert await retry.json() == await first.json()
        again = await client.post("/open311/v2/requests.json", data=form)
        assert again.status == 200
        assert (await again.json())[0]["service_request_id"] == (await created.json())[0]["service_request_id"]
        await assert_limited(
            await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"])), "address"
        )
        assert (await client.post("/open311/v2/requests.json", data={**form, "description": "new"})).status == 429
        await assert_limited(await client.get("/api/v1/categories", headers=bearer(tokens["viewer"])), "address")
        assert await db.fetchval("SELECT count(*) FROM reports") == stored

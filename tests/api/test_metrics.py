"""GET /metrics: who may read it, and figures that move as a scripted run says they must, in one
worker and summed over two."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from grid_service import keys
from grid_service.app import create_app
from tests.api.helpers import IN_CELL_1, IN_CELL_2, report
from tests.conftest import bearer, make_token, settings_for
from tests.served import start_serving
from tests.tcp_proxy import DatabaseProxy


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, by name and labels, read with the client library's parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: TestClient, token: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics", headers=bearer(token))
    text = await response.text()
    assert response.status == 200, text
    assert response.content_type == "text/plain"
    return samples(text)


@pytest.fixture
async def metrics_client(db_url: str) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(settings_for(db_url, metrics_allow="10.9.0.0/16"))))
    await client.start_server()
    yield client
    await client.close()


async def test_the_figures_move_as_the_run_says(metrics_client, db, tokens) -> None:
    client = metrics_client
    before = await scrape(client, tokens["admin"])
    reports = [report(point=IN_CELL_1), report(point=IN_CELL_2, category="outdoor_barbecue")]
    for body in reports:
        response = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
        assert response.status == 201, await response.text()
    retry = await client.post("/api/v1/reports", json=reports[0], headers=bearer(tokens["inspector"]))
    assert retry.status == 200  # a retry answered from the store is not a report ingested
    hotline = report(point=IN_CELL_2, source="hotline")
    assert (await client.post("/api/v1/reports", json=hotline, headers=bearer(tokens["receiver"]))).status == 201
    refused = await client.post("/api/v1/reports", json={"client_id": "x"}, headers=bearer(tokens["inspector"]))
    assert refused.status == 422
    after = await scrape(client, tokens["admin"])

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("grid_reports_ingested_total", source="inspector") == 2
    assert moved("grid_reports_ingested_total", source="hotline") == 1
    route = "/api/v1/reports"
    assert moved("grid_http_requests_total", route=route, method="POST", status="201") == 3
    assert moved("grid_http_requests_total", route=route, method="POST", status="200") == 1
    assert moved("grid_http_requests_total", route=route, method="POST", status="422") == 1
    assert moved("grid_http_request_duration_seconds_count", route=route) == 5
    # …the scrape before this one is counted under its own route, with its template
    assert moved("grid_http_requests_total", route="/metrics", method="GET", status="200") == 1
    assert moved("grid_intake_batch_size_sum") == 4  # the three new reports and the retry went through them
    assert moved("grid_intake_wait_seconds_count") == moved("grid_intake_batch_size_count") >= 1

    # The open cases as the database has them, by status and light.
    rows = await db.fetch("SELECT status, count(*) AS n FROM cases GROUP BY status")
    by_status: dict[str, float] = {}
    for (name, labels), count in after.items():
        if name == "grid_cases_open":
            by_status[dict(labels)["status"]] = by_status.get(dict(labels)["status"], 0) + count
    assert by_status == {row["status"]: row["n"] for row in rows}
    assert value(after, "grid_cases_open", status="dispatched", light="green") == by_status["dispatched"]
    assert value(after, "grid_cases_overdue") == 0
    await db.execute("UPDATE cases SET deadline_at = now() - interval '1 minute' WHERE status = 'dispatched'")
    overdue = await scrape(client, tokens["admin"])
    assert value(overdue, "grid_cases_overdue") == by_status["dispatched"]
    assert value(overdue, "grid_cases_open", status="dispatched", light="red") == by_status["dispatched"]

    settings = client.server.app[keys.SETTINGS]
    assert value(after, "grid_db_pool_connections", state="max") == settings.pool_max_size
    opened = value(after, "grid_db_pool_connections", state="in_use") + value(
        after, "grid_db_pool_connections", state="idle"
    )
    assert settings.pool_min_size <= opened <= settings.pool_max_size
    for loop in ("listener", "queue_tracker", "live_feed", "deadline_watch", "configuration", "metrics"):
        assert value(after, "grid_loop_up", loop=loop) == 1, loop


async def test_feeds_and_long_polls_are_counted_while_open(metrics_client, tokens) -> None:
    client = metrics_client
    assert value(await scrape(client, tokens["admin"]), "grid_feed_subscribers") == 0
    feed = await client.get("/api/v1/feed", headers=bearer(tokens["viewer"]))
    assert feed.status == 200
    poll = asyncio.create_task(client.get("/api/v1/queue", params={"wait": "20"}, headers=bearer(tokens["department"])))
    tracker = client.server.app[keys.TRACKER]
    for _ in range(1000):  # bounded: 10 s
        if tracker.waiters:
            break
        await asyncio.sleep(0.01)
    during = await scrape(client, tokens["admin"])
    assert value(during, "grid_feed_subscribers") == 1
    assert value(during, "grid_long_polls_parked") == 1
    assert value(during, "grid_event_log_lag_seconds", reader="live_feed") < 60
    # News for the department answers the long-poll; the feed is closed by its client.
    answer = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    assert answer.status == 201
    assert (await poll).status == 200
    feed.close()
    hub = client.server.app[keys.FEED]
    for _ in range(1000):
        if not hub.subscribers:
            break
        await asyncio.sleep(0.01)
    after = await scrape(client, tokens["admin"])
    assert value(after, "grid_feed_subscribers") == 0
    assert value(after, "grid_long_polls_parked") == 0


async def test_only_an_admin_or_a_listed_address_reads_it(metrics_client, db_url, tokens) -> None:
    client = metrics_client
    anonymous = await client.get("/metrics")
    assert anonymous.status == 401
    assert (await anonymous.json())["error"]["code"] == "unauthenticated"
    for role in ("viewer", "dispatcher", "inspector"):
        refused = await client.get("/metrics", headers=bearer(tokens[role]))
        assert refused.status == 403, role
        assert (await refused.json())["error"]["code"] == "forbidden"
    # Loopback is not in 10.9.0.0/16: the fixture's list lets nobody here in. One that lists it does.
    listed = TestClient(TestServer(create_app(settings_for(db_url, metrics_allow="192.0.2.1, 127.0.0.0/8"))))
    await listed.start_server()
    try:
        response = await listed.get("/metrics")
        assert response.status == 200
        assert "grid_cases_open" in await response.text()
    finally:
        await listed.close()
    off = TestClient(TestServer(create_app(settings_for(db_url, metrics=False))))
    await off.start_server()
    try:
        response = await off.get("/metrics", headers=bearer(tokens["admin"]))
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    finally:
        await off.close()


async def test_two_workers_are_summed(db_url: str, db: asyncpg.Connection) -> None:
    """Each scrape is answered by whichever worker takes the connection; every answer counts the
    reports both workers stored."""
    inspector = await make_token(db, "inspector")
    admin = await make_token(db, "admin")
    server, base = await start_serving(db_url, workers=2)
    try:
        sent = 0
        pids = set()
        for _ in range(12):  # a new connection each: the kernel spreads them over the two workers
            async with aiohttp.ClientSession() as session:
                response = await session.post(f"{base}/api/v1/reports", json=report(), headers=bearer(inspector))
                assert response.status == 201, await response.text()
                sent += 1
        for _ in range(8):
            async with aiohttp.ClientSession() as session:
                response = await session.get(f"{base}/metrics", headers=bearer(admin))
                assert response.status == 200
                found = samples(await response.text())
            assert value(found, "grid_reports_ingested_total", source="inspector") == sent
            assert (
                value(found, "grid_http_requests_total", route="/api/v1/reports", method="POST", status="201") == sent
            )
            pids.update(
                dict(labels)["pid"] for name, labels in found if name == "grid_loop_up" and "pid" in dict(labels)
            )
            assert value(found, "grid_loop_up", loop="live_feed") == 1
        assert not pids  # the live gauges are merged, not listed per worker
    finally:
        server.terminate()
        await server.wait()


async def test_the_workers_figures_are_answered_while_the_database_is_away(db_url, tokens) -> None:
    """An outage is what metrics must tell: the scrape answers without the database's figures."""
    proxy = DatabaseProxy(db_url)
    await proxy.start()
    settings = settings_for(proxy.url, db_timeout_s=1.0, metrics_allow="127.0.0.0/8")
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        up = samples(await (await client.get("/metrics")).text())
        assert value(up, "grid_database_up") == 1
        await proxy.stop()
        response = await client.get("/metrics")
        assert response.status == 200
        down = samples(await response.text())
        assert value(down, "grid_database_up") == 0
        assert not [name for name, _ in down if name == "grid_cases_open"]
        assert value(down, "grid_http_requests_total", route="/metrics", method="GET", status="200") >= 1
    finally:
        await client.close()

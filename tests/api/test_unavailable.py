import asyncio

from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import counts, report
from tests.conftest import bearer, settings_for
from tests.tcp_proxy import DatabaseProxy


async def test_database_outage_answers_503_then_recovers_by_itself(db_url, tokens, db):
    proxy = DatabaseProxy(db_url)
    await proxy.start()
    client = TestClient(TestServer(create_app(settings_for(proxy.url, db_timeout_s=1.0))))
    await client.start_server()
    try:
        ok = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
        assert ok.status == 201

        await proxy.stop()
        loop = asyncio.get_running_loop()
        started = loop.time()
        down = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
        assert down.status == 503 and down.headers["Retry-After"] == "1"
        assert (await down.json())["error"]["code"] == "database_unavailable"
        assert loop.time() - started < 3, "answers quickly while the database is down"
        assert (await client.get("/readyz")).status == 503
        open311 = await client.get("/open311/v2/requests.json")
        assert open311.status == 503 and open311.headers["Retry-After"] == "1"
        assert await open311.json() == [{"code": 503, "description": "the database is unavailable; retry shortly"}]

        await proxy.start()  # same port
        back = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
        assert back.status == 201
        assert (await counts(db))["reports"] == 2
    finally:
        await client.close()
        await proxy.stop()

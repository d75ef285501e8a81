"""What one answer and one caller may cost: the map streams page by page, heavy reads are capped."""

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from grid_service.heavy_reads import HeavyReads
from grid_service.schemas import CaseFeatureCollection
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, report
from tests.api.test_openapi import assert_matches
from tests.conftest import bearer, settings_for


async def test_a_map_longer_than_a_page_streams_the_same_collection(db_url, tokens):
    client = TestClient(TestServer(create_app(settings_for(db_url, map_page=100))))
    await client.start_server()
    try:
        batch = [report("exposed_garbage", (126.601 + i * 0.00001, 45.601)) for i in range(250)]  # never merged
        for item in batch:
            item["description"] = f"摊位 {item['client_id']}"
        await client.post("/api/v1/reports/batch", json={"reports": batch}, headers=bearer(tokens["inspector"]))
        response = await client.get("/api/v1/map/cases", params={"status": "all"}, headers=bearer(tokens["viewer"]))
        assert response.status == 200 and response.headers.get("Transfer-Encoding") == "chunked"
        body = json.loads(await response.read())
        assert_matches(CaseFeatureCollection, body)
        ids = [f["id"] for f in body["features"]]
        assert len(ids) == len(set(ids)) == 250 and ids == sorted(ids)
        assert body["seq"] > 0
        small = await client.get(
            "/api/v1/map/cases", params={"bbox": "126.600,45.600,126.6012,45.602"}, headers=bearer(tokens["viewer"])
        )
        assert small.status == 200 and "Transfer-Encoding" not in small.headers  # one page: sent whole
        assert 0 < len((await small.json(content_type=None))["features"]) < 100
    finally:
        await client.close()


async def test_a_caller_past_its_heavy_reads_gets_429_with_retry_after(db_url, db, tokens):
    settings = settings_for(db_url, heavy_reads_per_caller=1, heavy_reads_per_worker=2)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    heavy = client.server.app[keys.HEAVY_READS]
    try:
        # A statistics read held up by a lock on the log: its slot stays taken meanwhile.
        holder = db.transaction()
        await holder.start()
        await db.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        first = asyncio.create_task(client.get("/api/v1/stats", headers=bearer(tokens["dispatcher"])))
        for _ in range(500):  # until the first read holds its slot (bounded: 5 s)
            if heavy.in_flight:
                break
            await asyncio.sleep(0.01)
        second = await client.get("/api/v1/map/cases", headers=bearer(tokens["dispatcher"]))
        assert second.status == 429 and second.headers["Retry-After"] == "1"
        assert (await second.json())["error"]["code"] == "too_many_requests"
        other = await client.get("/api/v1/grids", headers=bearer(tokens["viewer"]))
        assert other.status == 200, "another caller is not held up"
        await holder.rollback()
        assert (await first).status == 200
        assert (await client.get("/api/v1/map/cases", headers=bearer(tokens["dispatcher"]))).status == 200
    finally:
        await client.close()


async def test_a_worker_runs_at_most_its_share_of_heavy_reads_at_once():
    heavy = HeavyReads(per_caller=10, per_worker=2)  # two, to see that no more run
    running, most = 0, 0

    async def read(caller: int) -> None:
        nonlocal running, most
        async with heavy.slot(caller), heavy.turn():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(read(n % 3) for n in range(12)))
    assert most == 2 and heavy.in_flight == 0


async def test_a_department_counts_only_its_own_open_cases_per_cell(client, tokens):
    for point in (IN_CELL_1, IN_CELL_1, IN_CELL_2, IN_STREET_2):  # street 2 goes to street_office
        await client.post(
            "/api/v1/reports", json=report("construction_dust", point), headers=bearer(tokens["inspector"])
        )

    async def counts(token):
        body = await (await client.get("/api/v1/grids", headers=bearer(token))).json(content_type=None)
        return {f["id"]: f["properties"]["open_cases"] for f in body["features"] if f["properties"]["open_cases"]}

    everyone = await counts(tokens["viewer"])
    assert everyone == {"230108001001001": 1, "230108001001002": 1, "230108002001001": 1}
    mine = await counts(tokens["department:street_office"])
    assert mine == {"230108002001001": 1}
    assert "230108002001001" not in await counts(tokens["department"])

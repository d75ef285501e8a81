"""`grid-service serve --workers 2`: two processes on one port, one database, a graceful stop."""

import asyncio

import aiohttp

from tests.api.helpers import IN_CELL_1, report
from tests.conftest import bearer, make_token
from tests.served import start_serving


async def test_two_workers_serve_one_port_and_wake_each_others_long_polls(db_url, db):
    inspector = await make_token(db, "inspector")
    clerk = await make_token(db, "department", "urban_management")
    server, base = await start_serving(db_url, workers=2)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/api/v1/queue", headers=bearer(clerk)) as r:
                cursor = (await r.json())["cursor"]
            polls = [
                asyncio.create_task(
                    session.get(f"{base}/api/v1/queue", params={"after": cursor, "wait": "20"}, headers=bearer(clerk))
                )
                for _ in range(4)  # spread over both workers by the kernel
            ]
            # The wake-up path itself is proven in tests/api/test_queue.py (where "parked" can be
            # observed); here a poll that had not parked yet would find the case on its first look.
            await asyncio.sleep(0.3)
            async with session.post(
                f"{base}/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(inspector)
            ) as r:
                case_id = (await r.json())["case_id"]
            for poll in asyncio.as_completed(polls, timeout=20):
                response = await poll
                page = await response.json()
                assert [c["id"] for c in page["cases"]] == [case_id]
                cursor_after = page["cursor"]

            # Live feeds never end by themselves; a graceful stop ends them, and does not wait for them.
            feeds = [
                await session.get(f"{base}/api/v1/feed", params={"after": "0"}, headers=bearer(clerk)) for _ in range(4)
            ]
            for feed in feeds:
                assert (await asyncio.wait_for(feed.content.readline(), 10)).startswith(b"id: ")
            # A parked long-poll does not hold the shutdown up either: it answers at once.
            parked = asyncio.create_task(
                session.get(f"{base}/api/v1/queue", params={"after": cursor_after, "wait": "60"}, headers=bearer(clerk))
            )
            await asyncio.sleep(0.3)
            stopping = asyncio.get_running_loop().time()
            server.terminate()
            for feed in feeds:
                async with asyncio.timeout(10):
                    await feed.read()  # to the end of the stream: the server closed it
            answered = await asyncio.wait_for(parked, timeout=10)
            assert answered.status == 200
            output, _ = await asyncio.wait_for(server.communicate(), timeout=20)
            assert asyncio.get_running_loop().time() - stopping < 10
    finally:
        if server.returncode is None:
            server.terminate()
            output, _ = await asyncio.wait_for(server.communicate(), timeout=20)
    assert output.decode().count("listening on") == 2

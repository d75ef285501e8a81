"""The read standby (GRID_SERVICE_READ_DATABASE_URL): case lists, map snapshots and statistics are read
from it while it is close enough, from the primary when its replay is paused past the lag limit or
when it is down; single case reads stay on the primary; /readyz shows the lag and stays ready.

A primary and a hot standby of the test's own (tests/pg_cluster.py), on loopback; every wait is
bounded. The lag computation and the handling of URLs naming several hosts are checked without a
database.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from grid_service.contexts import writable
from grid_service.db.pool import connect
from grid_service.db.replicas import lag_behind, single_host_urls
from grid_service.settings import mask_url
from tests.conftest import bearer, make_token, with_database
from tests.fault.test_failover import DATABASE, SERVICE_ENV, Replicated, post_report, replicated_pair
from tests.pg_cluster import binaries_required, have_binaries
from tests.served import start_serving

MAX_LAG_S = 4.0  # the service's read_max_lag_s here
WAIT_S = 20.0  # bound on every wait for the monitor to see a change


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://grid:s3cret@h1:5432,h2:5433/grid?target_session_attrs=read-write",
            "postgresql://grid:***@h1:5432,h2:5433/grid?target_session_attrs=read-write",
        ),
        ("postgresql://grid:p@ss:w@h1,h2/grid", "postgresql://grid:***@h1,h2/grid"),
        (
            "postgresql:///grid?host=/run/postgresql&password=s3cret",
            "postgresql:///grid?host=/run/postgresql&password=***",
        ),
        ("postgresql://grid@h1:5432,[::1]:5433/grid", "postgresql://grid@h1:5432,[::1]:5433/grid"),
    ],
)
def test_a_logged_url_shows_every_host_and_no_password(url, shown):
    assert mask_url(url) == shown


def test_a_url_of_several_hosts_asks_for_the_writable_one_unless_it_says_otherwise():
    assert writable("postgresql://g@h1,h2/grid") == "postgresql://g@h1,h2/grid?target_session_attrs=read-write"
    assert writable("postgresql://g@h1,h2/grid?sslmode=require").endswith(
        "?sslmode=require&target_session_attrs=read-write"
    )
    assert (
        writable("postgresql://g@h1,h2/grid?target_session_attrs=any")
        == "postgresql://g@h1,h2/grid?target_session_attrs=any"
    )
    assert writable("postgresql://g@h1/grid") == "postgresql://g@h1/grid"


def test_each_host_of_a_url_gets_a_url_of_its_own():
    assert single_host_urls("postgresql://g:pw@h1:5432,[::1]:5433/grid?target_session_attrs=read-write") == [
        "postgresql://g:pw@h1:5432/grid?target_session_attrs=read-write",
        "postgresql://g:pw@[::1]:5433/grid?target_session_attrs=read-write",
    ]
    assert single_host_urls("postgresql://g@h1/grid") == ["postgresql://g@h1/grid"]


def test_a_standby_holding_the_newest_position_is_not_behind():
    samples = deque([(10.0, 100), (11.0, 200)])
    assert lag_behind(samples, 200, now=11.5) == 0.0
    assert lag_behind(samples, 250, now=11.5) == 0.0


def test_the_lag_is_the_time_since_the_primary_passed_the_standby_position():
    samples = deque([(10.0, 100), (11.0, 200), (12.0, 200), (13.0, 400)])
    assert lag_behind(samples, 150, now=14.0) == pytest.approx(3.5)  # passed 150 half-way to 11.0
    assert lag_behind(samples, 200, now=14.0) == pytest.approx(2.0)  # still there at 12.0
    assert lag_behind(samples, 300, now=14.0) == pytest.approx(1.5)


def test_a_standby_behind_every_sample_is_at_least_as_late_as_the_oldest():
    samples = deque([(10.0, 100), (11.0, 200)])
    assert lag_behind(samples, 50, now=20.0) == pytest.approx(10.0)
    assert lag_behind(deque(), 50, now=20.0) == math.inf


needs_servers = pytest.mark.skipif(
    not have_binaries() and not binaries_required(), reason="the PostgreSQL server binaries are not installed"
)


@pytest.fixture
async def pair() -> AsyncIterator[Replicated]:
    servers = await replicated_pair(synchronous=False)  # replay paused must not hold commits up
    try:
        yield servers
    finally:
        await asyncio.to_thread(servers.standby.remove)
        await asyncio.to_thread(servers.primary.remove)


async def readyz(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with session.get(f"{base}/readyz") as answer:
        body: dict[str, Any] = await answer.json()
        assert answer.status == 200, body  # whatever the standby does, the service is ready
        return body["details"]["read_replica"]


async def until_reads_from(session: aiohttp.ClientSession, base: str, where: str) -> dict[str, Any]:
    for _ in range(int(WAIT_S * 10)):
        shown = await readyz(session, base)
        if shown["reads"] == where:
            return shown
        await asyncio.sleep(0.1)
    raise AssertionError(f"reads never went to the {where}: {shown}")


async def listed(session: aiohttp.ClientSession, base: str, token: str) -> set[str]:
    async with session.get(f"{base}/api/v1/cases", params={"limit": "200"}, headers=bearer(token)) as answer:
        assert answer.status == 200, await answer.text()
        return {case["id"] for case in (await answer.json())["cases"]}


async def on_map(session: aiohttp.ClientSession, base: str, token: str) -> set[str]:
    async with session.get(f"{base}/api/v1/map/cases", headers=bearer(token)) as answer:
        assert answer.status == 200, await answer.text()
        return {feature["properties"]["id"] for feature in (await answer.json())["features"]}


async def reported_today(session: aiohttp.ClientSession, base: str, token: str) -> int:
    async with session.get(f"{base}/api/v1/stats/daily", headers=bearer(token)) as answer:
        assert answer.status == 200, await answer.text()
        return sum(day["reported"] for day in (await answer.json())["days"])


@needs_servers
async def test_lists_are_read_from_the_standby_until_it_falls_behind_or_goes_away(pair):
    conn = await connect(with_database(pair.primary.url, DATABASE))
    try:
        inspector = await make_token(conn, "inspector")
        admin = await make_token(conn, "admin")
    finally:
        await conn.close()
    primary_url = with_database(pair.primary.url, DATABASE)
    env = {
        **SERVICE_ENV,
        "GRID_SERVICE_READ_DATABASE_URL": with_database(pair.standby.url, DATABASE),
        "GRID_SERVICE_READ_MAX_LAG_S": str(MAX_LAG_S),
    }
    server, base = await start_serving(primary_url, env=env)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            caught_up = await until_reads_from(session, base, "standby")
            assert caught_up["lag_s"] <= MAX_LAG_S
            first = await post_report(session, base, inspector, "illegal_construction")
            for _ in range(int(WAIT_S * 10)):  # replayed a moment later
                if first in await listed(session, base, admin):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the standby never showed the case")
            # Only the read pool connects as grid-service (the monitor's connection is unnamed).
            on_standby = pair.standby.sql(
                f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DATABASE}'"
                " AND application_name = 'grid-service'"
            )
            assert int(on_standby) > 0, "the read pool is connected to the standby"
            counted = await reported_today(session, base, admin)

            # Replay paused: what the primary commits now is not on the standby. While the lag is
            # within the limit, lists, the map and the statistics are read there and miss the case;
            # a single case is read on the primary and found.
            pair.standby.sql("SELECT pg_wal_replay_pause()")
            unseen = await post_report(session, base, inspector, "illegal_construction")
            before = await readyz(session, base)
            cases, mapped, reported = (
                await listed(session, base, admin),
                await on_map(session, base, admin),
                await reported_today(session, base, admin),
            )
            after = await readyz(session, base)
            assert before["reads"] == after["reads"] == "standby", (before, after)
            assert unseen not in cases and unseen not in mapped and reported == counted
            assert first in cases and first in mapped
            async with session.get(f"{base}/api/v1/cases/{unseen}", headers=bearer(admin)) as answer:
                assert answer.status == 200

            # Past the limit the reads go to the primary, which has the case; /readyz says how far
            # behind the standby is.
            behind = await until_reads_from(session, base, "primary")
            assert behind["lag_s"] > MAX_LAG_S and "problem" not in behind, behind
            assert unseen in await listed(session, base, admin)
            assert unseen in await on_map(session, base, admin)
            assert await reported_today(session, base, admin) == counted + 1

            pair.standby.sql("SELECT pg_wal_replay_resume()")
            caught_up = await until_reads_from(session, base, "standby")
            assert caught_up["lag_s"] <= MAX_LAG_S
            assert unseen in await listed(session, base, admin)

            # The standby dies: reads go to the primary, and the service stays ready.
            await asyncio.to_thread(pair.standby.kill)
            down = await until_reads_from(session, base, "primary")
            assert down["lag_s"] is None and down["problem"], down
            assert {first, unseen} <= await listed(session, base, admin)
            assert await reported_today(session, base, admin) == counted + 1
    finally:
        server.terminate()
        await server.wait()

"""The database's share of batch intake: reports stored per second with the service's work taken away.

Usage: python bench/intake_ceiling.py [--reports 20000] [--runs 3]

Prepares reports with the service's own code (validation, grid assignment, routing, deadlines)
before any clock runs, then times only their writes: the call the group committer makes
(db/reports.intake: idempotency, duplicate search, case, report and events in one transaction of
50), from one and from two connections at once, against the least a write of the same reports can
be in the same run (one INSERT of each 50 into a table with a primary key and nothing else). Prints
reports/s, the ratio, and the CPU the PostgreSQL processes spent per report (read from /proc).

Whatever the rate from two connections is here, batch intake over HTTP cannot exceed it on this
machine: the service shares the same cores. The database is $GRID_SERVICE_BENCH_DATABASE_URL (or
$GRID_SERVICE_TEST_DATABASE_URL), else an embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, make_tokens
from bench.intake import bodies
from grid_service import keys
from grid_service.app import create_app
from grid_service.auth import Principal
from grid_service.db.reports import PreparedReport, intake
from grid_service.domain.enums import Role
from grid_service.flows.intake import prepare
from grid_service.schemas import ReportCreate
from grid_service.settings import Settings

PER_TRANSACTION = 50  # the group committer's max_items
BARE = "CREATE TABLE bare_reports (id uuid PRIMARY KEY, client_id text, category text, lon float8, lat float8)"
BARE_INSERT = (
    "INSERT INTO bare_reports SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[])"
)


def postgres_cpu_seconds() -> float | None:
    """CPU time of every PostgreSQL process on this machine (None where /proc cannot tell)."""
    total = 0
    try:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if not f.read().startswith(b"postgres"):
                        continue
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


async def timed(work: Callable[[], Awaitable[None]], count: int, name: str) -> float:
    cpu_before = postgres_cpu_seconds()
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    cpu_after = postgres_cpu_seconds()
    cpu = ""
    if cpu_before is not None and cpu_after is not None:
        cpu = f"   PostgreSQL CPU {1e6 * (cpu_after - cpu_before) / count:5.0f} µs/report"
    print(f"{name:<34} {count / seconds:>9,.0f} reports/s{cpu}")
    return count / seconds


async def measure(database: str, args: argparse.Namespace) -> None:
    now = dt.datetime.now(dt.UTC)
    app = create_app(Settings(database_url=database, log_level="WARNING", deadline_sweep_s=3600))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        pool = app[keys.POOL]
        token_id = await pool.fetchval("SELECT id FROM api_tokens WHERE name = 'bench'")
        caller = Principal(token_id=token_id, name="bench", role=Role.INSPECTOR, department=None)
        snapshot = app[keys.CONFIG].current
        await pool.execute(BARE)

        def prepared_batches(seed: int) -> list[list[PreparedReport]]:
            reports = [ReportCreate.model_validate(orjson.loads(orjson.dumps(b))) for b in bodies(args.reports, seed)]
            ready = [prepare(caller, r, snapshot, now) for r in reports]
            return [ready[i : i + PER_TRANSACTION] for i in range(0, len(ready), PER_TRANSACTION)]

        async def write_all(batches: list[list[PreparedReport]], connections: int) -> None:
            queue = list(reversed(batches))

            async def writer() -> None:
                while queue:
                    await intake(pool, queue.pop(), timeout=30)

            await asyncio.gather(*(writer() for _ in range(connections)))

        async def bare_all(batches: list[list[PreparedReport]], connections: int) -> None:
            queue = list(reversed(batches))

            async def writer() -> None:
                while queue:
                    items = [p.item for p in queue.pop()]
                    await pool.execute(
                        BARE_INSERT,
                        [uuid.uuid4() for _ in items],
                        [i.client_id for i in items],
                        [i.category for i in items],
                        [i.lon for i in items],
                        [i.lat for i in items],
                    )

            await asyncio.gather(*(writer() for _ in range(connections)))

        await write_all(prepared_batches(seed=99)[:20], 2)  # warm the plans and the caches
        print(f"{args.reports:,} reports per run, prepared before timing, {PER_TRANSACTION} per transaction")
        for run in range(args.runs):
            for connections in (1, 2):
                batches = prepared_batches(seed=10 * run + connections)
                count = sum(len(b) for b in batches)
                label = f"{connections} connection(s)"
                rate = await timed(lambda b=batches, c=connections: write_all(b, c), count, f"intake writes, {label}")
                base = await timed(lambda b=batches, c=connections: bare_all(b, c), count, f"bare INSERT, {label}")
                print(f"{'ratio (intake / bare INSERT)':<34} {rate / base:>9.2f} x")
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        make_tokens(database, [("bench", "inspector", None)])
        asyncio.run(measure(database, args))


if __name__ == "__main__":
    main()

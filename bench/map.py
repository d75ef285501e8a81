"""Map snapshots on 100,000 open cases: the case layer, one district view, and the cell layer.

Usage: python bench/map.py [--cases 100000] [--runs 5] [--workers 1]

Loads open cases straight into a fresh database (COPY; spread over the shipped
demo grid, a realistic mix of statuses, categories, clocks and deadlines), then
times GET /api/v1/map/cases (everything, and a bbox of about a tenth of the
district) and GET /api/v1/grids through the running service. The baseline, in
the same run on the same database: the least any implementation must do — one
asyncpg query of the same rows and orjson of bare point features, in process,
with no HTTP, no names, no lights. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, make_tokens, service
from bench.intake import CATEGORIES
from grid_service.domain.ids import uuid7

STATUSES = ["dispatched"] * 6 + ["in_progress"] * 3 + ["pending_dispatch", "resolved"]
DEPARTMENTS = ["urban_management", "ecology_environment", "housing_construction", "market_regulation"]
DISTRICT_VIEW = "126.62,45.56,126.68,45.60"  # about a tenth of the demo grid's area


async def load_cases(database: str, count: int) -> None:
    conn = await asyncpg.connect(database)
    try:
        cells = await conn.fetch(
            "SELECT version, code, min_lon, min_lat, max_lon, max_lat FROM grid_cells ORDER BY code"
        )
        rng = np.random.default_rng(5)
        now = dt.datetime.now(dt.UTC)
        records = []
        for n in range(count):
            cell = cells[int(rng.integers(len(cells)))]
            status = STATUSES[int(rng.integers(len(STATUSES)))]
            created = now - dt.timedelta(hours=float(rng.uniform(0, 240)))
            running = status != "pending_dispatch"
            records.append(
                (
                    uuid7(),
                    f"B{n:09d}",
                    status,
                    None if running else "rejected",
                    CATEGORIES[int(rng.integers(len(CATEGORIES)))],
                    bool(rng.random() < 0.1),
                    float(rng.uniform(cell["min_lon"], cell["max_lon"])),
                    float(rng.uniform(cell["min_lat"], cell["max_lat"])),
                    cell["version"],
                    cell["code"],
                    DEPARTMENTS[int(rng.integers(len(DEPARTMENTS)))] if running else None,
                    created,
                    created,
                    created if running else None,
                    created + dt.timedelta(hours=float(rng.choice([2, 4, 24, 48, 120]))) if running else None,
                    created,
                )
            )
        await conn.copy_records_to_table(
            "cases",
            records=records,
            columns=[
                "id",
                "case_no",
                "status",
                "pending_reason",
                "category",
                "urgent",
                "lon",
                "lat",
                "grid_version",
                "grid_code",
                "department",
                "created_at",
                "last_reported_at",
                "dispatched_at",
                "deadline_at",
                "updated_at",
            ],
        )
        await conn.execute("ANALYZE cases")
    finally:
        await conn.close()


async def timed(call, runs: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Median seconds over ``runs`` calls (after one warm-up), and the size of the last answer."""
    size = len(await call())
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        size = len(await call())
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), size


async def measure(url: str, database: str, token: str, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def get(path: str) -> bytes:
            async with session.get(url + path) as response:
                assert response.status == 200, response.status
                return await response.read()

        all_cases = await timed(lambda: get("/api/v1/map/cases"), args.runs)
        view = await timed(lambda: get(f"/api/v1/map/cases?bbox={DISTRICT_VIEW}"), args.runs)
        cells = await timed(lambda: get("/api/v1/grids"), args.runs)
    conn = await asyncpg.connect(database)

    async def bare() -> bytes:
        rows = await conn.fetch(
            "SELECT id, lon, lat, status, deadline_at FROM cases WHERE status NOT IN ('closed', 'cancelled')"
        )
        features = [
            {
                "type": "Feature",
                "id": str(r["id"]),
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {"status": r["status"], "deadline_at": r["deadline_at"]},
            }
            for r in rows
        ]
        return orjson.dumps({"type": "FeatureCollection", "features": features})

    baseline = await timed(bare, args.runs)
    await conn.close()
    print(f"{args.cases:,} open cases, median of {args.runs} runs")
    for name, (seconds, size) in [
        ("GET /api/v1/map/cases (all)", all_cases),
        ("GET /api/v1/map/cases (district view)", view),
        ("GET /api/v1/grids (4,620 cells)", cells),
        ("baseline: query + bare features", baseline),
    ]:
        print(f"{name:<40} {seconds * 1000:8.0f} ms   {size / 1e6:6.1f} MB")
    print(f"ratio (all cases / baseline)             {all_cases[0] / baseline[0]:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        [token] = make_tokens(database, [(f"wall-{uuid.uuid4().hex[:6]}", "viewer", None)])
        asyncio.run(load_cases(database, args.cases))
        with service(database, workers=args.workers) as url:
            asyncio.run(measure(url, database, token, args))


if __name__ == "__main__":
    main()

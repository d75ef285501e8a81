"""Intake throughput and latency against a minimal baseline, measured in one run.

Usage: python bench/intake.py [--requests 20000] [--concurrency 32] [--workers 2]

Starts grid-service (full intake: validation, grid assignment, routing,
deadline, idempotency, duplicate search, case + report + events, committed)
and a baseline endpoint (aiohttp + pydantic + one asyncpg INSERT) on the same
PostgreSQL server, loads each over loopback at the same concurrency with the
same bodies, and prints reports/s, p50 and p99 for each and their ratio; then
batch intake (batches of 500) against the baseline's one INSERT of each batch.
The database is $GRID_SERVICE_BENCH_DATABASE_URL (or $GRID_SERVICE_TEST_DATABASE_URL),
else an embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, cli, free_port, fresh_database, load, process, service
from grid_service.configuration.files import read_config_dir
from grid_service.settings import DEFAULT_CONFIG_DIR

CATEGORIES = [c.code for c in read_config_dir(DEFAULT_CONFIG_DIR).categories]  # the shipped ones
BBOX = (126.5752, 45.5285, 126.7723, 45.6352)  # the shipped demo grid


def bodies(count: int, seed: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    lons = rng.uniform(BBOX[0], BBOX[2], count)
    lats = rng.uniform(BBOX[1], BBOX[3], count)
    cats = rng.integers(0, len(CATEGORIES), count)
    return [
        {
            "client_id": uuid.uuid4().hex,
            "category": CATEGORIES[c],
            "description": "bench",
            "location": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for x, y, c in zip(lons, lats, cats, strict=True)
    ]


def line(name: str, result) -> str:  # type: ignore[no-untyped-def]
    return (
        f"{name:<28} {result.rate:>9,.0f} reports/s   p50 {result.pct(50):6.1f} ms   "
        f"p99 {result.pct(99):6.1f} ms   errors {result.errors}"
    )


async def measure(service: str, baseline: str, token: str, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    encode = [orjson.dumps(b) for b in bodies(args.requests * 2 + 1000, seed=1)]
    warm, base_bodies, svc_bodies = encode[:500], encode[500 : 500 + args.requests], encode[500 + args.requests :]
    await load(f"{baseline}/api/v1/reports", warm, headers={}, concurrency=args.concurrency)
    await load(
        f"{service}/api/v1/reports",
        [orjson.dumps(b) for b in bodies(500, seed=2)],
        headers=headers,
        concurrency=args.concurrency,
    )
    base = await load(f"{baseline}/api/v1/reports", base_bodies, headers={}, concurrency=args.concurrency)
    full = await load(
        f"{service}/api/v1/reports", svc_bodies[: args.requests], headers=headers, concurrency=args.concurrency
    )
    print(f"concurrency {args.concurrency}, {args.requests} requests each, {args.workers} worker(s) each")
    print(line("baseline (1 INSERT)", base))
    print(line("grid-service intake", full))
    print(f"{'ratio (service / baseline)':<28} {full.rate / base.rate:>9.2f} x throughput")

    base_rate = await batch_rate(f"{baseline}/api/v1/reports/batch", {}, args, seed=3, name="baseline batch (1 INSERT)")
    rate = await batch_rate(f"{service}/api/v1/reports/batch", headers, args, seed=4, name="batch intake (500/batch)")
    print(f"{'ratio (service / baseline)':<28} {rate / base_rate:>9.2f} x batch throughput")


async def batch_rate(url: str, headers: dict[str, str], args: argparse.Namespace, *, seed: int, name: str) -> float:
    items = bodies(args.batch_reports, seed=seed)
    batches = [orjson.dumps({"reports": items[i : i + 500]}) for i in range(0, len(items), 500)]
    result = await load(url, batches, headers=headers, concurrency=args.batch_concurrency)
    rate: float = result.requests * 500 / result.seconds
    print(f"{name:<28} {rate:>9,.0f} reports/s   p50 {result.pct(50):6.1f} ms per batch   errors {result.errors}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-reports", type=int, default=50_000)
    parser.add_argument("--batch-concurrency", type=int, default=8)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as service_db, fresh_database(admin) as baseline_db:
        token = cli(service_db, "token", "create", "--role", "inspector", "--name", "bench")
        baseline_port = free_port()
        baseline_cmd = [
            sys.executable,
            str(Path(__file__).with_name("baseline_server.py")),
            baseline_db,
            str(baseline_port),
            str(args.workers),
        ]
        with service(service_db, workers=args.workers) as url, process(baseline_cmd, port=baseline_port):
            asyncio.run(measure(url, f"http://127.0.0.1:{baseline_port}", token, args))


if __name__ == "__main__":
    main()

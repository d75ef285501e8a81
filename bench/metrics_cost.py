"""What /metrics costs intake: single-report intake with metrics on against the same service with
metrics off, measured in one run.

Usage: python bench/metrics_cost.py [--requests 6000] [--concurrency 32] [--workers 2] [--rounds 3]

Starts two grid-service instances (GRID_SERVICE_METRICS true and false) on two fresh databases of
the same PostgreSQL server, and loads them in turn, round after round (on, off, off, on, …), so
that drift of the machine falls on both alike. A scraper reads /metrics of the instance with
metrics every 5 s meanwhile, as Prometheus would. Prints each round and the ratio of the totals:
the bar is ≥ 0.97× (metrics cost intake at most 3 %).
The database is $GRID_SERVICE_BENCH_DATABASE_URL (or $GRID_SERVICE_TEST_DATABASE_URL), else an
embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

import aiohttp
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import LoadResult, admin_url, cli, fresh_database, load, service
from bench.intake import bodies

SCRAPE_EVERY_S = 5.0


async def scraper(url: str, token: str, stop: asyncio.Event) -> int:
    scrapes = 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        while not stop.is_set():
            async with session.get(f"{url}/metrics") as response:
                await response.read()
                assert response.status == 200, response.status
                scrapes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCRAPE_EVERY_S)
    return scrapes


async def measure(on: str, off: str, tokens: dict[str, str], admin: str, args: argparse.Namespace) -> None:
    headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    urls = {"on": on, "off": off}
    encoded = iter(orjson.dumps(b) for b in bodies(args.requests * args.rounds * 2 + 2000, seed=11))
    for name in ("on", "off"):  # warm both
        await load(f"{urls[name]}/api/v1/reports", [next(encoded) for _ in range(1000)], headers=headers[name],
                   concurrency=args.concurrency)  # fmt: skip
    stop = asyncio.Event()
    scraping = asyncio.create_task(scraper(on, admin, stop))
    results: dict[str, list[LoadResult]] = {"on": [], "off": []}
    for round_ in range(args.rounds):
        order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
        for name in order:
            batch = [next(encoded) for _ in range(args.requests)]
            result = await load(f"{urls[name]}/api/v1/reports", batch, headers=headers[name],
                                concurrency=args.concurrency)  # fmt: skip
            results[name].append(result)
            print(f"round {round_ + 1} metrics {name:<3} {result.rate:>8,.0f} reports/s   "
                  f"p50 {result.pct(50):5.1f} ms   p99 {result.pct(99):5.1f} ms   errors {result.errors}")  # fmt: skip
    stop.set()
    scrapes = await scraping
    totals = {}
    for name, runs in results.items():
        count = sum(r.requests for r in runs)
        seconds = sum(r.seconds for r in runs)
        p99 = float(np.percentile(np.concatenate([r.latencies_ms for r in runs]), 99))
        totals[name] = count / seconds
        print(f"metrics {name:<3} total {totals[name]:>8,.0f} reports/s   p99 {p99:5.1f} ms")
    print(f"{scrapes} scrapes of /metrics during the rounds")
    print(f"ratio (metrics on / off)   {totals['on'] / totals['off']:.3f} x throughput   (bar: >= 0.97)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as on_db, fresh_database(admin) as off_db:
        tokens = {
            "on": cli(on_db, "token", "create", "--role", "inspector", "--name", "bench"),
            "off": cli(off_db, "token", "create", "--role", "inspector", "--name", "bench"),
        }
        scrape_token = cli(on_db, "token", "create", "--role", "admin", "--name", "prometheus")
        with (
            service(on_db, workers=args.workers, env={"GRID_SERVICE_METRICS": "true"}) as on,
            service(off_db, workers=args.workers, env={"GRID_SERVICE_METRICS": "false"}) as off,
        ):
            asyncio.run(measure(on, off, tokens, scrape_token, args))


if __name__ == "__main__":
    main()

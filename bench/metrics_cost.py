"""What /metrics costs intake: single-report intake with metrics on against the same service with
metrics off, measured in one run.

Usage: python bench/metrics_cost.py [--requests 4000] [--rounds 4] [--legs 4] [--concurrency 32] [--workers 2] [--a-a]

Starts two grid-service instances (GRID_SERVICE_METRICS true and false) on two fresh databases of
the same PostgreSQL server, and loads them in turn, round after round (on, off, off, on, …), so
that drift of the machine falls on both alike; then restarts them with the metrics on the other
one, leg after leg, and takes the geometric mean of the legs' ratios, so that whatever favours one
instance cancels out (``--a-a``, metrics off on both, shows the bench's own spread). A scraper
reads /metrics of the instance with metrics every 5 s meanwhile, as Prometheus would. Prints each
leg and the ratio:
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


async def measure(
    urls: dict[str, str], tokens: dict[str, str], admin: str, args: argparse.Namespace
) -> dict[str, float]:
    """One leg: the rounds against the service with metrics ("on") and the one without ("off");
    each one's reports a second over the leg."""
    headers = {name: {"Authorization": f"Bearer {tokens[name]}"} for name in urls}
    encoded = iter(orjson.dumps(b) for b in bodies(args.requests * args.rounds * 2 + 2000, seed=11))
    for name in ("on", "off"):  # warm both
        await load(f"{urls[name]}/api/v1/reports", [next(encoded) for _ in range(1000)], headers=headers[name],
                   concurrency=args.concurrency)  # fmt: skip
    stop = asyncio.Event()
    scraping = asyncio.create_task(scraper(urls["on"], admin, stop) if not args.a_a else asyncio.sleep(0, 0))
    results: dict[str, list[LoadResult]] = {"on": [], "off": []}
    for round_ in range(args.rounds):
        order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
        for name in order:
            batch = [next(encoded) for _ in range(args.requests)]
            result = await load(f"{urls[name]}/api/v1/reports", batch, headers=headers[name],
                                concurrency=args.concurrency)  # fmt: skip
            results[name].append(result)
            print(f"  round {round_ + 1} metrics {name:<3} {result.rate:>8,.0f} reports/s   "
                  f"p50 {result.pct(50):5.1f} ms   p99 {result.pct(99):5.1f} ms   errors {result.errors}")  # fmt: skip
    stop.set()
    scrapes = await scraping
    totals = {}
    for name, runs in results.items():
        count = sum(r.requests for r in runs)
        seconds = sum(r.seconds for r in runs)
        p99 = float(np.percentile(np.concatenate([r.latencies_ms for r in runs]), 99))
        totals[name] = count / seconds
        print(f"  metrics {name:<3} total {totals[name]:>8,.0f} reports/s   p99 {p99:5.1f} ms")
    print(f"  {scrapes} scrapes of /metrics; this leg on / off {totals['on'] / totals['off']:.3f} x")
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--legs", type=int, default=4, help="an even number: each service has the metrics as often")
    parser.add_argument("--a-a", action="store_true", help="metrics off on both: the bench's own spread")
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as first_db, fresh_database(admin) as second_db:
        databases = (first_db, second_db)
        tokens = [cli(db, "token", "create", "--role", "inspector", "--name", "bench") for db in databases]
        admins = [cli(db, "token", "create", "--role", "admin", "--name", "prometheus") for db in databases]
        ratios = []
        # Two legs, the metrics on the first service and then on the second: whatever favours one
        # of the two (the order they started in, their database) falls on each side once.
        for leg in range(args.legs):
            with_metrics = leg % 2
            print(f"leg {leg + 1}: metrics on the {('first', 'second')[with_metrics]} service")
            flags = [index == with_metrics and not args.a_a for index in (0, 1)]
            with (
                service(first_db, workers=args.workers, env={"GRID_SERVICE_METRICS": str(flags[0]).lower()}) as a,
                service(second_db, workers=args.workers, env={"GRID_SERVICE_METRICS": str(flags[1]).lower()}) as b,
            ):
                urls = [a, b]
                off = 1 - with_metrics
                named = {"on": urls[with_metrics], "off": urls[off]}
                totals = asyncio.run(
                    measure(named, {"on": tokens[with_metrics], "off": tokens[off]}, admins[with_metrics], args)
                )
            ratios.append(totals["on"] / totals["off"])
    ratio = float(np.prod(ratios)) ** (1 / len(ratios))
    print(f"ratio (metrics on / off), geometric mean of the legs   {ratio:.3f} x throughput   (bar: >= 0.97)")


if __name__ == "__main__":
    main()

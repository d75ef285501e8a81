"""Action throughput: accept / resolve / verify round trips per second against intake, in one run.

Usage: python bench/casework.py [--cases 3000] [--concurrency 32] [--workers 2]

Starts grid-service, measures single-report intake at the given concurrency
(creating the cases), then drives every case through accept -> resolve ->
verify at the same concurrency and prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from bench.common import admin_url, fresh_database, load, make_tokens, service
from bench.intake import bodies


async def run(url: str, inspector: str, clerk: str, args: argparse.Namespace) -> None:
    items = bodies(args.cases, seed=11)
    for item in items:
        item["category"] = "illegal_construction"  # routed to one department everywhere
    payloads = [orjson.dumps(item) for item in items]
    intake = await load(
        f"{url}/api/v1/reports",
        payloads,
        headers={"Authorization": f"Bearer {inspector}"},
        concurrency=args.concurrency,
    )
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(
            f"{url}/api/v1/cases",
            params={"status": "dispatched", "limit": "500"},
            headers={"Authorization": f"Bearer {clerk}"},
        ) as r:
            page = await r.json()
        case_ids = [c["id"] for c in page["cases"]]
        cursor = page["next"]
        while cursor:
            async with session.get(
                f"{url}/api/v1/cases",
                params={"status": "dispatched", "limit": "500", "after": cursor},
                headers={"Authorization": f"Bearer {clerk}"},
            ) as r:
                page = await r.json()
            case_ids += [c["id"] for c in page["cases"]]
            cursor = page["next"]
        steps = [("accept", clerk, {}), ("resolve", clerk, {"note": "done"}), ("verify", inspector, {"passed": True})]
        latencies: list[float] = []
        errors = 0
        queue = list(case_ids)

        async def worker() -> None:
            nonlocal errors
            while queue:
                case_id = queue.pop()
                for action, token, body in steps:
                    started = time.perf_counter()
                    async with session.post(
                        f"{url}/api/v1/cases/{case_id}/{action}",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    ) as r:
                        await r.read()
                        errors += r.status != 200
                    latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
    rate = len(latencies) / elapsed
    print(
        f"intake      {intake.rate:>8,.0f} reports/s     p99 {intake.pct(99):6.1f} ms  (concurrency {args.concurrency})"
    )
    print(
        f"actions     {rate:>8,.0f} round trips/s  p99 {np.percentile(latencies, 99):6.1f} ms  "
        f"({len(case_ids)} cases x accept, resolve, verify; errors {errors})"
    )
    print(f"ratio       {rate / intake.rate:.2f} x intake")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        inspector, clerk = make_tokens(
            database, [("bench", "inspector", None), ("clerk", "department", "urban_management")]
        )
        with service(database, workers=args.workers) as url:
            asyncio.run(run(url, inspector, clerk, args))


if __name__ == "__main__":
    main()

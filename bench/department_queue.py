"""Queue wake latency: department clients long-polling while reports are committed through the API.

Usage: python bench/department_queue.py [--clients 50] [--rate 200] [--seconds 15] [--workers 2]

Starts grid-service with N workers; 50 department clients long-poll
GET /api/v1/queue (spread over the departments that receive cases) while a
writer submits reports at a steady rate through the API. For every case a
client receives, latency = time received - time the writer got its 201 (the
report was committed just before). Prints p50/p99 and counts every case that
a client of its department missed or received twice. Loopback only, bounded
by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, make_tokens, service
from bench.intake import bodies

DEPARTMENTS = [
    "urban_management",
    "ecology_environment",
    "housing_construction",
    "agriculture_rural",
    "emergency_management",
    "street_office_001",
    "street_office_002",
]


async def run(url: str, inspector: str, clerks: dict[str, list[str]], args: argparse.Namespace) -> None:
    acked: dict[str, float] = {}
    routed: dict[str, str] = {}
    received: dict[tuple[int, str], list[float]] = defaultdict(list)
    changes: dict[tuple[int, str, int], int] = defaultdict(int)  # (client, case, seq) -> times delivered
    stop = asyncio.Event()

    async def clerk(index: int, department: str, token: str, session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{url}/api/v1/queue", params={"limit": "500"}, headers=headers) as r:
            cursor = (await r.json())["cursor"]  # start from now: older cases are not part of the run
        while not stop.is_set():
            params = {"after": cursor, "wait": "5", "limit": "500"}
            async with session.get(f"{url}/api/v1/queue", params=params, headers=headers) as r:
                page = await r.json()
            now = time.perf_counter()
            for case in page["cases"]:
                received[(index, case["id"])].append(now)
                changes[(index, case["id"], case["seq"])] += 1
            cursor = page["cursor"]

    async def writer(session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {inspector}"}
        items = bodies(int(args.rate * args.seconds), seed=7)
        interval = 1.0 / args.rate
        started = time.perf_counter()

        async def send(body: dict[str, object]) -> None:
            async with session.post(f"{url}/api/v1/reports", json=body, headers=headers) as r:
                answer = await r.json()
            if answer.get("department") and not answer["duplicate"]:
                acked[answer["case_id"]] = time.perf_counter()
                routed[answer["case_id"]] = answer["department"]["code"]

        tasks = []
        for n, body in enumerate(items):
            body["client_id"] = uuid.uuid4().hex
            delay = started + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(body)))
        await asyncio.gather(*tasks)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        clients = [(i, d, t) for d, tokens in clerks.items() for i, t in tokens]
        readers = [asyncio.create_task(clerk(i, d, t, session)) for i, d, t in clients]
        await asyncio.sleep(1.0)
        await writer(session)
        await asyncio.sleep(2.0)  # let the last changes arrive
        stop.set()
        await asyncio.wait(readers, timeout=10)

    latencies, missing = [], 0
    repeated = sum(n - 1 for n in changes.values())  # one change delivered twice to one client
    for index, department, _ in clients:
        for case_id, department_of_case in routed.items():
            if department_of_case != department:
                continue
            times = received.get((index, case_id), [])
            if not times:
                missing += 1
                continue
            latencies.append((times[0] - acked[case_id]) * 1000)
    lat = np.array(latencies)
    print(
        f"{len(clients)} clients, {len(routed)} routed cases in {args.seconds:.0f} s at {args.rate}/s, "
        f"{args.workers} workers"
    )
    print(
        f"deliveries {len(lat)}   p50 {np.percentile(lat, 50):.1f} ms   p99 {np.percentile(lat, 99):.1f} ms   "
        f"max {lat.max():.1f} ms (acknowledged -> delivered)"
    )
    print(f"missed {missing}   repeated {repeated}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        departments = [DEPARTMENTS[n % len(DEPARTMENTS)] for n in range(args.clients)]
        inspector, *clerk_tokens = make_tokens(
            database,
            [("bench", "inspector", None)] + [(f"clerk-{n}", "department", d) for n, d in enumerate(departments)],
        )
        clerks: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for n, (department, token) in enumerate(zip(departments, clerk_tokens, strict=True)):
            clerks[department].append((n, token))
        with service(database, workers=args.workers) as url:
            asyncio.run(run(url, inspector, clerks, args))


if __name__ == "__main__":
    main()

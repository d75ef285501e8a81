"""Intake while departments long-poll: idle long-polls must cost intake (almost) nothing.

Usage: python bench/long_polls.py [--requests 12000] [--concurrency 32] [--workers 2] [--history 30000]
                                 [--rounds 3]

One grid-service (N workers) on a log that already holds --history reports. Single-report intake
at --concurrency is measured three times in the same run, with the same kind of bodies:
  1. alone (the baseline);
  2. with 20 quiet departments' clients long-polling in a loop (wait=5, each following the cursor
     it is answered, from where its department's history ends; nothing reaches them during the run);
  3. with 500 long-polls parked (wait=60) across the quiet departments.
The three phases run --rounds times, interleaved; prints the median reports/s of each and its
ratio to the baseline (bar: >= 0.8). Loopback only, bounded by
the request count and each phase's time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, load, make_tokens, service
from bench.intake import bodies

QUIET = ["emergency_management", "agriculture_rural"]  # the bodies below never reach these
LOUD_CATEGORIES_ONLY = {"safety_hazard", "straw_burning"}


def intake_bodies(count: int, seed: int) -> list[bytes]:
    chosen = [b for b in bodies(count * 2, seed) if b["category"] not in LOUD_CATEGORIES_ONLY][:count]
    for body in chosen:
        body["client_id"] = uuid.uuid4().hex
    return [orjson.dumps(b) for b in chosen]


@contextlib.asynccontextmanager
async def long_polls(url: str, tokens: list[str], *, count: int, wait: int) -> AsyncIterator[list[int]]:
    """``count`` clients long-polling in a loop until the block ends; yields [answers received]."""
    stop = asyncio.Event()
    answered = [0]
    connector = aiohttp.TCPConnector(limit=0)
    session = aiohttp.ClientSession(connector=connector)

    # Each department's clerks start where its history ends (their first start is not measured).
    starts = [await caught_up(session, url, {"Authorization": f"Bearer {token}"}) for token in tokens]

    async def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        cursor = starts[n % len(tokens)]
        while not stop.is_set():
            params = {"wait": str(wait), "after": cursor}
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{url}/api/v1/queue", params=params, headers=headers) as response:
                    page = await response.json()
                    cursor = page["cursor"]
                    answered[0] += 1

    tasks = [asyncio.create_task(client(n)) for n in range(count)]
    await asyncio.sleep(2.0)  # every client has made its first call and is parked
    try:
        yield answered
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()


async def caught_up(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> str:
    """A clerk's cursor past the department's history (its first start; not part of what is measured)."""
    cursor = ""
    while True:
        params = {"after": cursor, "limit": "500"}
        async with session.get(f"{url}/api/v1/queue", params=params, headers=headers) as response:
            page = await response.json()
        cursor = page["cursor"]
        if not page["cases"]:
            return cursor


async def history(url: str, token: str, count: int) -> None:
    """A log that already holds ``count`` reports, written in batches."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for start in range(0, count, 500):
            batch = {"reports": bodies(min(500, count - start), seed=start)}
            async with session.post(f"{url}/api/v1/reports/batch", json=batch) as response:
                await response.read()


async def measure(url: str, inspector: str, clerks: list[str], args: argparse.Namespace) -> None:
    await history(url, inspector, args.history)
    headers = {"Authorization": f"Bearer {inspector}"}
    target = f"{url}/api/v1/reports"
    await load(target, intake_bodies(500, seed=1), headers=headers, concurrency=args.concurrency)  # warm up

    async def intake(seed: int) -> float:
        result = await load(
            target, intake_bodies(args.requests, seed), headers=headers, concurrency=args.concurrency, max_seconds=30
        )
        print(f"    {result.requests} reports in {result.seconds:.1f}s, {result.errors} errors")
        return result.rate

    rates: dict[str, list[float]] = {"alone": [], "quiet": [], "parked": []}
    for round_ in range(args.rounds):  # interleaved, so that the machine's drift hits every phase alike
        seed = 10 * round_
        print(f"round {round_ + 1}: intake alone")
        rates["alone"].append(await intake(seed + 2))
        print(f"round {round_ + 1}: intake with 20 quiet departments long-polling in a loop")
        async with long_polls(url, clerks, count=20, wait=5) as answered:
            rates["quiet"].append(await intake(seed + 3))
        print(f"    (the long-polls were answered {answered[0]} times)")
        print(f"round {round_ + 1}: intake with 500 long-polls parked")
        async with long_polls(url, clerks, count=500, wait=60):
            rates["parked"].append(await intake(seed + 4))
    alone, quiet, parked = (statistics.median(rates[k]) for k in ("alone", "quiet", "parked"))
    print()
    print(f"medians of {args.rounds} rounds (reports/s per round: {rates})")
    print(f"alone                 {alone:>8,.0f} reports/s")
    print(f"20 quiet long-polls   {quiet:>8,.0f} reports/s   ratio {quiet / alone:.2f}x  (bar >= 0.8)")
    print(f"500 parked long-polls {parked:>8,.0f} reports/s   ratio {parked / alone:.2f}x  (bar >= 0.8)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as url:
        specs = [("bench-inspector", "inspector", None)]
        specs += [(f"bench-clerk-{d}", "department", d) for d in QUIET]
        inspector, *clerks = make_tokens(url, specs)
        with service(url, workers=args.workers) as base:
            asyncio.run(measure(base, inspector, clerks, args))


if __name__ == "__main__":
    main()

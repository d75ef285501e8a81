"""One abusive token against another inspector's intake latency, with the per-caller limits on.

Usage: python bench/limits.py [--requests 600] [--windows 4] [--victim-rate 40] [--abuse-rate 1000] [--workers 2]
                              [--abuse-reads] [--limits-on-only]

Starts grid-service with its default limits (the per-address one off: the abuser and the victim
share loopback) and measures an inspector's single-report intake (p50, p99; ``--victim-rate``
reports a second, within its allowance) in quiet windows and in windows while another process
sends ``--abuse-rate`` reports a second (``--abuse-reads``: case lists) with one other token,
paced, in turn, so that a stall of the machine falls on either alike. Then the same with the
limits off, to show what they prevent. Prints the pooled figures and the ratio of p99 abused /
quiet: the bar is ≤ 2× with the limits on.
The database is $GRID_SERVICE_BENCH_DATABASE_URL (or $GRID_SERVICE_TEST_DATABASE_URL), else an
embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import LoadResult, admin_url, cli, fresh_database, service
from bench.intake import bodies
from grid_service.settings import Settings


def abuse(url: str, token: str, rate: float, seconds: float, reads: bool, answers: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In its own process (so that its client costs the measured client nothing): ``rate`` POSTs a
    second, each a new report, for ``seconds``; puts the count of each status on ``answers``."""

    async def run() -> Counter[int]:
        statuses: Counter[int] = Counter()
        encoded = [orjson.dumps(b) for b in bodies(int(rate * seconds) + 10, seed=21)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        in_flight: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), headers=headers) as session:

            async def one(body: bytes) -> None:
                try:
                    asking = (
                        session.get(f"{url}/api/v1/cases")
                        if reads
                        else session.post(f"{url}/api/v1/reports", data=body)
                    )
                    async with asking as response:
                        await response.read()
                        statuses[response.status] += 1
                except aiohttp.ClientError:
                    statuses[0] += 1

            started = time.perf_counter()
            for sent, body in enumerate(encoded):
                due = started + sent / rate
                if due > started + seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                task = asyncio.create_task(one(body))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await asyncio.gather(*in_flight)
            statuses[-1] = int(sent / (time.perf_counter() - started))  # the rate achieved
        return statuses

    answers.put(dict(asyncio.run(run())))


def line(name: str, result: LoadResult) -> str:
    return f"{name:<34} p50 {result.pct(50):6.1f} ms   p99 {result.pct(99):6.1f} ms   errors {result.errors}"


async def victim(url: str, token: str, args: argparse.Namespace, seed: int) -> LoadResult:
    """The other inspector: ``--victim-rate`` reports a second, paced, each timed."""
    encoded = [orjson.dumps(b) for b in bodies(args.requests, seed=seed)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(body: bytes) -> None:
            nonlocal errors
            began = time.perf_counter()
            async with session.post(f"{url}/api/v1/reports", data=body) as response:
                await response.read()
                errors += response.status != 201
            latencies.append((time.perf_counter() - began) * 1000)

        started = time.perf_counter()
        tasks = []
        for sent, body in enumerate(encoded):
            await asyncio.sleep(max(0.0, started + sent / args.victim_rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
    return LoadResult(len(latencies), errors, seconds, np.array(latencies))


def pooled(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        sum(r.seconds for r in results),
        np.concatenate([r.latencies_ms for r in results]),
    )


def interleave(quiet: list[LoadResult], abused: list[LoadResult]) -> list[LoadResult]:
    return [r for pair in zip(quiet, abused, strict=True) for r in pair]


def measure(url: str, victim_token: str, abuser_token: str, args: argparse.Namespace, label: str) -> float:
    """Quiet and abused windows in turn (quiet, abused, quiet, …): a stall of the machine (a slow
    fsync, a checkpoint) then falls on either alike, rather than deciding one p99 alone."""
    for seed in (30, 31):  # warm up (a fresh database's first plans and statistics)
        asyncio.run(victim(url, victim_token, args, seed=seed))
    context = multiprocessing.get_context("spawn")
    quiet: list[LoadResult] = []
    abused: list[LoadResult] = []
    answers: Counter[int] = Counter()
    achieved = []
    for window in range(2 * args.windows):
        if window % 2 == 0:
            quiet.append(asyncio.run(victim(url, victim_token, args, seed=40 + window)))
            continue
        queue: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
        lasting = args.requests / args.victim_rate + 4
        abuser = context.Process(
            target=abuse, args=(url, abuser_token, args.abuse_rate, lasting, args.abuse_reads, queue)
        )
        abuser.start()
        time.sleep(2.0)  # the abuse is under way before the window starts
        abused.append(asyncio.run(victim(url, victim_token, args, seed=40 + window)))
        statuses = queue.get(timeout=600)
        abuser.join()
        achieved.append(statuses.pop(-1, 0))
        answers.update(statuses)
    windows = "  ".join(
        f"{'q' if i % 2 == 0 else 'a'} {r.pct(99):.0f}" for i, r in enumerate(interleave(quiet, abused))
    )
    print(f"{label}: each window's p99 (ms, q quiet, a abused): {windows}")
    print(line(f"{label}: unloaded", pooled(quiet)))
    print(line(f"{label}: {args.abuse_rate:g}/s abuse", pooled(abused)))
    print(f"{'':<34} the abuser sent {min(achieved):,}–{max(achieved):,}/s; answers {dict(sorted(answers.items()))}")
    ratio = pooled(abused).pct(99) / pooled(quiet).pct(99)
    print(f"{label}: p99 loaded / unloaded {ratio:.2f} x over {args.windows} windows of each")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="the victim's reports per window")
    parser.add_argument("--windows", type=int, default=4, help="quiet windows, and as many abused ones")
    parser.add_argument("--victim-rate", type=float, default=40.0)
    parser.add_argument("--abuse-rate", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--abuse-reads", action="store_true", help="the abuser lists cases instead of sending reports")
    parser.add_argument("--limits-on-only", action="store_true", help="skip the run with the limits off")
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        victim_token = cli(database, "token", "create", "--role", "inspector", "--name", "victim")
        abuser_token = cli(database, "token", "create", "--role", "inspector", "--name", "abuser")
        rate = Settings.model_fields["token_rate_per_s"].default
        defaults = {"GRID_SERVICE_TOKEN_RATE_PER_S": str(rate), "GRID_SERVICE_ADDRESS_RATE_PER_S": "0"}
        # The abuser and the victim share loopback: the per-address limit is left off so that
        # only the per-token one decides (behind a proxy each would have its own address).
        with service(database, workers=args.workers, env=defaults) as url:
            on = measure(url, victim_token, abuser_token, args, "limits on")
        off = float("nan")
        if not args.limits_on_only:
            with service(database, workers=args.workers) as url:
                off = measure(url, victim_token, abuser_token, args, "limits off")
    print(f"bar: limits on, p99 loaded / unloaded <= 2: {on:.2f} x (limits off: {off:.2f} x)")


if __name__ == "__main__":
    main()

"""What full-map reads cost a worker: memory under 10 concurrent ones, and intake meanwhile.

Usage: python bench/map_memory.py [--cases 106000] [--readers 10] [--requests 4000]

Loads --cases cases (open and closed, as bench/map.py does) into a fresh database and serves them
with one worker. Measures the worker's resident memory at rest, then while --readers callers (each
its own wall-screen token) read GET /api/v1/map/cases?status=all at once, twice each, sampling
every 20 ms; and single-report intake alone and during those reads. Prints the peak above rest
(bar: <= 150 MB) and the intake ratio. Loopback only, bounded by counts and time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, free_port, fresh_database, load, make_tokens, process
from bench.long_polls import intake_bodies
from bench.map import load_cases


class Sampler:
    """The peak resident memory of a process, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def measure(url: str, pid: int, inspector: str, walls: list[str], args: argparse.Namespace) -> None:
    target = f"{url}/api/v1/reports"
    headers = {"Authorization": f"Bearer {inspector}"}
    timeout = aiohttp.ClientTimeout(total=300)
    sizes: list[int] = []
    statuses: list[int] = []

    async def read_map(token: str) -> None:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(2):
                async with session.get(
                    f"{url}/api/v1/map/cases", params={"status": "all"}, headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    statuses.append(response.status)
                    sizes.append(len(await response.read()))

    await read_map(walls[0])  # warm: the first answer's one-off costs are not what is measured
    await load(target, intake_bodies(300, seed=1), headers=headers, concurrency=16)
    probe = Sampler(pid)
    await asyncio.sleep(1.0)
    at_rest = probe.rss()
    alone = await load(target, intake_bodies(args.requests, seed=2), headers=headers, concurrency=16)
    with Sampler(pid) as sampler:
        started = time.perf_counter()
        readers = asyncio.gather(*(read_map(token) for token in walls))
        during = await load(target, intake_bodies(args.requests, seed=3), headers=headers, concurrency=16)
        await readers
        reads_s = time.perf_counter() - started
    mb = 1024 * 1024
    print(f"{args.cases:,} cases; {args.readers} callers reading the whole map twice each ({reads_s:.1f} s)")
    print(f"  answers: {sorted(set(statuses))}, {max(sizes) / mb:.1f} MB each")
    print(f"  worker memory at rest {at_rest / mb:7.1f} MB, peak during the reads {sampler.peak / mb:7.1f} MB")
    print(f"  peak above rest       {(sampler.peak - at_rest) / mb:7.1f} MB   (bar <= 150 MB)")
    print(f"  intake alone          {alone.rate:7.0f} reports/s")
    print(
        f"  intake during reads   {during.rate:7.0f} reports/s   ratio {during.rate / alone.rate:.2f}x   "
        f"p99 {during.pct(99):.0f} ms (alone {alone.pct(99):.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=106_000)
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        specs = [("bench-inspector", "inspector", None)]
        specs += [(f"wall-{n}-{uuid.uuid4().hex[:6]}", "viewer", None) for n in range(args.readers)]
        inspector, *walls = make_tokens(database, specs)
        asyncio.run(load_cases(database, args.cases))
        port = free_port()
        env = {"GRID_SERVICE_DATABASE_URL": database, "GRID_SERVICE_LOG_LEVEL": "WARNING"}
        command = [sys.executable, "-m", "grid_service", "serve", "--port", str(port), "--workers", "1"]
        with process(command, port=port, env=env) as server:
            asyncio.run(measure(f"http://127.0.0.1:{port}", server.pid, inspector, walls, args))


if __name__ == "__main__":
    main()

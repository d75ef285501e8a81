"""Live feed: 1,000 SSE subscribers on 2 workers while cases are created at 100/s, against a bare broadcast.

Usage: python bench/feed.py [--clients 1000] [--rate 100] [--seconds 15] [--workers 2]

First the service: grid-service with N workers, the subscribers connected to
GET /api/v1/feed?after=0 (so each must receive every event of the run, once),
and a separate process creating cases through POST /api/v1/reports at a
steady rate. Latency = time a client read an event - the time the event's row
was written (events.written_at, just before its transaction committed): an
upper bound of commit -> receipt. Every client's ids are checked against the
log: lost and repeated events are counted.

Then the baseline, in the same run: a bare aiohttp broadcast
(bench/feed_baseline_server.py, one process per worker) of the very frames the
service sent, at the same pace, to the same number of clients; latency =
receipt - the time the baseline published the frame. Loopback only, bounded by
--seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import re
import sys
import time
import uuid
from array import array
from pathlib import Path

import aiohttp
import asyncpg
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, free_port, fresh_database, make_tokens, process, service
from bench.intake import bodies

EVENT_ID = re.compile(rb"(?m)^id: (\d+)\r?$")
FRAME = re.compile(rb"id: \d+\nevent: [^\n]+\ndata: [^\n]+\n\n")


class Subscriber(asyncio.Protocol):
    """One SSE connection, read as cheaply as possible: the id of every complete event and when it came."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.buffer = b""
        self.ids = array("q")
        self.times = array("d")
        self.connected = False
        self.lost_connection = False
        self.keep_frames = False
        self.frames: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.connected = True
        buffer = self.buffer + data
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self.buffer = buffer
            return
        complete, self.buffer = buffer[: end + 2], buffer[end + 2 :]
        for match in EVENT_ID.finditer(complete):
            self.ids.append(int(match.group(1)))
            self.times.append(now)
        if self.keep_frames:
            self.frames.extend(FRAME.findall(complete))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_connection = True


async def connect_all(port_of: list[int], path: str, headers: str, count: int) -> list[Subscriber]:
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    subscribers = [Subscriber(request) for _ in range(count)]
    for start in range(0, count, 100):
        await asyncio.gather(
            *(
                loop.create_connection(lambda s=s: s, "127.0.0.1", port_of[i % len(port_of)])
                for i, s in enumerate(subscribers[start : start + 100], start=start)
            )
        )
    deadline = time.monotonic() + 30
    while not all(s.connected for s in subscribers) and time.monotonic() < deadline:  # noqa: ASYNC110 (set by callbacks)
        await asyncio.sleep(0.05)
    if not all(s.connected for s in subscribers):
        raise RuntimeError("not every subscriber got its response headers")
    return subscribers


def create_cases(url: str, token: str, rate: float, seconds: float) -> None:
    """Child process: POST one report every 1/rate seconds (each in its own task, so pacing holds)."""

    async def run() -> None:
        reports = [orjson.dumps(b) for b in bodies(int(rate * seconds), seed=11)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers) as session:

            async def post(body: bytes) -> None:
                async with session.post(f"{url}/api/v1/reports", data=body) as response:
                    await response.read()
                    if response.status != 201:
                        print("report answered", response.status, file=sys.stderr)

            started = time.monotonic()
            tasks = []
            for i, body in enumerate(reports):
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
                tasks.append(asyncio.create_task(post(body)))
            await asyncio.gather(*tasks)

    asyncio.run(run())


async def wait_for(subscribers: list[Subscriber], last: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(s.ids and s.ids[-1] >= last for s in subscribers if not s.lost_connection):
            return
        await asyncio.sleep(0.1)


def judge(subscribers: list[Subscriber], sent_at: dict[int, float]) -> tuple[np.ndarray, int, int, int]:
    """Latencies (ms) of every delivery, and the events lost, repeated, and connections dropped."""
    expected = set(sent_at)
    lost = repeated = dropped = 0
    latencies = []
    for s in subscribers:
        ids = np.frombuffer(s.ids, dtype=np.int64)
        times = np.frombuffer(s.times, dtype=np.float64)
        lost += len(expected - set(ids.tolist()))
        repeated += len(ids) - len(set(ids.tolist()))
        dropped += s.lost_connection
        sent = np.array([sent_at.get(int(i), np.nan) for i in ids])
        latencies.append((times - sent) * 1000)
    values = np.concatenate(latencies) if latencies else np.array([])
    return values[~np.isnan(values)], lost, repeated, dropped


def timeline(subscribers: list[Subscriber], sent_at: dict[int, float]) -> str:
    """p99 latency (ms) of the events sent in each second of the run: where the tail comes from."""
    start = min(sent_at.values())
    per_second: dict[int, list[float]] = {}
    for s in subscribers[::10]:
        for seq, received in zip(s.ids, s.times, strict=True):
            if seq in sent_at:
                per_second.setdefault(int(sent_at[seq] - start), []).append((received - sent_at[seq]) * 1000)
    return "  ".join(f"{second}s:{np.percentile(v, 99):.0f}" for second, v in sorted(per_second.items()))


def line(name: str, latencies: np.ndarray, lost: int, repeated: int, dropped: int) -> str:
    p50, p99 = np.percentile(latencies, [50, 99])
    return (
        f"{name:<34} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {latencies.max():7.1f} ms   "
        f"deliveries {len(latencies):>9,}   lost {lost}   repeated {repeated}   dropped {dropped}"
    )


async def measure_service(url: str, database: str, viewer: str, inspector: str, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    port = int(url.rsplit(":", 1)[1])
    subscribers = await connect_all([port], "/api/v1/feed?after=0", f"Authorization: Bearer {viewer}\r\n", args.clients)
    subscribers[0].keep_frames = True  # the frames the baseline will broadcast
    loader = multiprocessing.get_context("spawn").Process(
        target=create_cases, args=(url, inspector, args.rate, args.seconds)
    )
    started = time.monotonic()
    loader.start()
    await asyncio.to_thread(loader.join)
    conn = await asyncpg.connect(database)
    rows = await conn.fetch("SELECT seq, extract(epoch FROM written_at)::float8 AS t FROM events ORDER BY seq")
    await conn.close()
    written = {r["seq"]: r["t"] for r in rows}
    await wait_for(subscribers, max(written), 15)
    seconds = time.monotonic() - started
    result = judge(subscribers, written)
    if args.timeline:
        print("service p99 per second:", timeline(subscribers, written))
    print(
        f"service: {args.clients} subscribers, {len(written):,} events from "
        f"{len(written) // 2:,} cases in {seconds:.1f} s, {args.workers} workers"
    )
    return result, list(zip(subscribers[0].ids, subscribers[0].frames, strict=False))


async def measure_baseline(frames: list[tuple[int, bytes]], args: argparse.Namespace):  # type: ignore[no-untyped-def]
    ports = [free_port() for _ in range(args.workers)]
    script = str(Path(__file__).with_name("feed_baseline_server.py"))
    with contextlib.ExitStack() as stack:
        for port in ports:
            stack.enter_context(process([sys.executable, script, str(port)], port=port))
        subscribers = await connect_all(ports, "/feed", "", args.clients)
        events_per_second = len(frames) / args.seconds
        async with aiohttp.ClientSession() as session:
            started = time.monotonic()
            sent = 0
            while sent < len(frames):
                due = min(len(frames), int((time.monotonic() - started) * events_per_second) + 1)
                if due > sent:
                    batch = orjson.dumps([[seq, frame.decode()] for seq, frame in frames[sent:due]])
                    await asyncio.gather(*(session.post(f"http://127.0.0.1:{p}/publish", data=batch) for p in ports))
                    sent = due
                await asyncio.sleep(0.01)
            await wait_for(subscribers, frames[-1][0], 15)
            published: dict[int, float] = {}
            for port in ports:
                async with session.get(f"http://127.0.0.1:{port}/published") as response:
                    published.update({int(seq): t for seq, t in await response.json()})
    if args.timeline:
        print("baseline p99 per second:", timeline(subscribers, published))
    return judge(subscribers, published)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeline", action="store_true", help="also print p99 per second of the run")
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        viewer, inspector = make_tokens(
            database, [("wall", "viewer", None), (f"i-{uuid.uuid4().hex[:6]}", "inspector", None)]
        )
        with service(database, workers=args.workers) as url:
            (served, lost, repeated, dropped), frames = asyncio.run(
                measure_service(url, database, viewer, inspector, args)
            )
    print(line("grid-service feed", served, lost, repeated, dropped))
    base, b_lost, b_repeated, b_dropped = asyncio.run(measure_baseline(frames, args))
    print(line("bare aiohttp broadcast (baseline)", base, b_lost, b_repeated, b_dropped))
    s50, s99 = np.percentile(served, [50, 99])
    b50, b99 = np.percentile(base, [50, 99])
    print(f"ratio (service / baseline)         p50 {s50 / b50:.2f} x   p99 {s99 / b99:.2f} x")


if __name__ == "__main__":
    main()

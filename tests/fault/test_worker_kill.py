"""kill -9 of a worker under load: it is logged and replaced, and no acknowledged report is lost.
kill -9 of `serve` on the embedded default: the embedded PostgreSQL is stopped by the next clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import psutil

from tests.api.helpers import IN_CELL_1, report
from tests.conftest import bearer, make_token
from tests.served import start_serving


def workers_of(server_pid: int) -> set[int]:
    """The serving worker processes (spawn also starts a resource tracker, which serves nothing)."""
    found = set()
    for child in psutil.Process(server_pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:  # it has just gone: not a worker
            continue
    return found


async def until(condition, *, seconds: float, what: str):
    for _ in range(int(seconds * 10)):
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}")


async def test_a_killed_worker_is_logged_and_replaced_and_nothing_acknowledged_is_lost(db_url, db):
    inspector = await make_token(db, "inspector")
    server, base = await start_serving(db_url, workers=2, logs=True)
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = asyncio.Event()
    try:
        first = await until(
            lambda: len(workers_of(server.pid)) == 2 and workers_of(server.pid), seconds=20, what="two workers"
        )

        async def writer(session: aiohttp.ClientSession) -> None:
            while not stop.is_set():
                try:
                    async with session.post(
                        f"{base}/api/v1/reports", json=report("exposed_garbage", IN_CELL_1), headers=bearer(inspector)
                    ) as response:
                        statuses.append(response.status)
                        if response.status == 201:
                            acknowledged.append((await response.json())["report_id"])
                except aiohttp.ClientError:
                    statuses.append(0)  # the connection died with its worker: not acknowledged
                await asyncio.sleep(0.005)

        async with aiohttp.ClientSession() as session:
            writers = [asyncio.create_task(writer(session)) for _ in range(4)]
            await asyncio.sleep(0.5)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            replaced = await until(
                lambda: len(workers_of(server.pid)) == 2 and workers_of(server.pid) != first and workers_of(server.pid),
                seconds=30,
                what="a replacement worker",
            )
            assert victim not in replaced
            await until(
                lambda: statuses.count(201) > len(acknowledged) - 1 and len(acknowledged) > 20,
                seconds=10,
                what="reports acknowledged",
            )
            await asyncio.sleep(1.0)  # the replacement serves too
            stop.set()
            await asyncio.gather(*writers)
        stored = await db.fetchval("SELECT count(*) FROM reports WHERE id = ANY($1::uuid[])", acknowledged)
        assert stored == len(acknowledged)
        assert 500 not in statuses
    finally:
        stop.set()
        server.terminate()
        _, log = await asyncio.wait_for(server.communicate(), timeout=30)
    text = log.decode()
    assert f"(pid {victim}) was killed by SIGKILL" in text and "starting a replacement" in text
    assert server.returncode == 0 or server.returncode == -signal.SIGTERM


def embedded_postmaster(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's pid, when it runs."""
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return pid if psutil.pid_exists(pid) else None


async def test_after_kill_9_on_the_embedded_default_the_next_clean_stop_stops_its_database(tmp_path):
    env = {"GRID_SERVICE_DATA_DIR": str(tmp_path)}
    server, base = await start_serving(None, env=env, ready_within_s=90)
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as response:
            assert response.status == 200
        postmaster = embedded_postmaster(tmp_path)
        assert postmaster is not None
        server.kill()  # kill -9: it cannot detach
        await server.wait()
        assert embedded_postmaster(tmp_path) == postmaster, "the database outlives a killed process"

        again, base = await start_serving(None, env=env, ready_within_s=90)
        async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as response:
            assert response.status == 200
        again.terminate()  # a clean stop by the last process attached
        await asyncio.wait_for(again.wait(), timeout=60)
        await until(lambda: embedded_postmaster(tmp_path) is None, seconds=30, what="the embedded database stopped")
    finally:
        for process in (server,):
            if process.returncode is None:
                process.kill()
        leftover = embedded_postmaster(tmp_path)
        if leftover is not None:  # never leave a server of ours behind, even when the test fails
            os.kill(leftover, signal.SIGQUIT)


async def test_workers_stop_when_their_supervisor_is_killed(db_url):
    server, _ = await start_serving(db_url, workers=2)
    try:
        workers = await until(
            lambda: len(workers_of(server.pid)) == 2 and workers_of(server.pid), seconds=20, what="two workers"
        )
        server.kill()
        await server.wait()
        await until(
            lambda: (
                not any(
                    psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in workers
                )
            ),
            seconds=15,
            what="the orphaned workers stopped",
        )
    finally:
        if server.returncode is None:
            server.kill()

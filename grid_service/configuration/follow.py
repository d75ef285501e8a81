"""Installing the configuration on a first start, and following it in every worker."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import asyncpg

from grid_service.configuration.files import read_config_dir
from grid_service.configuration.holder import ConfigHolder
from grid_service.db import config_store
from grid_service.db.pool import Conn
from grid_service.live.loops import LoopState

log = logging.getLogger(__name__)


async def ensure_configuration(conn: Conn, config_dir: Path) -> bool:
    """Load ``config_dir`` when the database holds no configuration yet (a first start); True if it did."""
    if await config_store.current_generation(conn) is not None:
        return False
    log.info("first start: loading configuration from %s", config_dir)
    bundle = await asyncio.to_thread(read_config_dir, config_dir)
    await config_store.store_bundle(conn, bundle)
    return True


async def follow_configuration(
    pool: asyncpg.Pool, holder: ConfigHolder, state: LoopState, *, every_s: float, snap_m: float, timeout: float
) -> None:
    """Every worker polls the generation counter, so a load-config reaches all of them. While the
    database is away, or a stored configuration cannot be read, the worker keeps the one it has and
    the loop fails (so /readyz says so) until it can read the new one."""
    while True:
        await asyncio.sleep(every_s)
        async with pool.acquire(timeout=timeout) as conn:
            generation = await config_store.current_generation(conn)
            people = await config_store.people_stamp(conn)
            fresh = None
            current = holder.snapshot
            if current is None or generation != current.generation:
                fresh = await config_store.read_snapshot(conn, snap_m=snap_m)
            elif people != current.people:  # an account created or disabled: who answers for which cells
                inspectors = await config_store.read_inspectors(conn)
                holder.snapshot = dataclasses.replace(current, inspectors=inspectors, people=people)
        if fresh is not None:
            holder.snapshot = fresh
            log.info("configuration generation %d loaded", fresh.generation)
        state.alive()

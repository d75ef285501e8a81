"""Point assignment speed on a 10,000-cell grid, against PostGIS ST_Covers lookups in the same run.

Usage: python bench/assign.py [--points 200000] [--bulk-points 2000000]

Prints per-point (``Grid.assign``) and bulk (``Grid.assign_many``) rates,
and the rate of single-point PostGIS lookups over the same cells (GiST index,
``ST_Covers``, lowest code first), one query per point from 8 connections.
PostGIS is needed only here (``apt-get install postgresql-15-postgis-3``); the
database is $GRID_SERVICE_BENCH_DATABASE_URL (or $GRID_SERVICE_TEST_DATABASE_URL),
else 127.0.0.1:5432. Without PostGIS the comparison is skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import asyncpg
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database
from geo.generate import generate_cells
from geo.grid import Grid

BOX = (126.58, 45.53, 126.71, 45.62)  # about 10 km x 10 km: 10,000 cells of 100 m
LOOKUP = """
SELECT code FROM cells WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY code LIMIT 1
"""


def build_grid() -> Grid:
    cells = generate_cells(
        shapely.box(*BOX), cell_size_m=100, code_prefix="230108", community_cells=10, street_communities=10
    )
    return Grid(cells)


def points(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(BOX[0], BOX[2], count), rng.uniform(BOX[1], BOX[3], count)


async def postgis_rate(url: str, grid: Grid, lons: np.ndarray, lats: np.ndarray) -> tuple[float, list[str]] | None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION postgis")
    except asyncpg.PostgresError as exc:
        print(f"PostGIS comparison skipped: {exc}")
        await conn.close()
        return None
    await conn.execute("CREATE TABLE cells (code text PRIMARY KEY, wkb bytea, geom geometry(Geometry, 4326))")
    await conn.copy_records_to_table(
        "cells",
        records=[(c.code, shapely.to_wkb(c.geometry)) for c in grid.cells],
        columns=["code", "wkb"],
    )
    await conn.execute("UPDATE cells SET geom = ST_SetSRID(ST_GeomFromWKB(wkb), 4326)")
    await conn.execute("CREATE INDEX ON cells USING gist (geom); ANALYZE cells")
    await conn.close()
    pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
    answers: list[str] = [""] * len(lons)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        async with pool.acquire() as c:
            statement = await c.prepare(LOOKUP)
            while next_index < len(lons):
                i = next_index
                next_index += 1
                answers[i] = await statement.fetchval(float(lons[i]), float(lats[i])) or ""

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(8)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return len(lons) / elapsed, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--bulk-points", type=int, default=2_000_000)
    parser.add_argument("--postgis-points", type=int, default=20_000)
    args = parser.parse_args()
    grid = build_grid()
    print(f"grid: {len(grid)} cells of 100 m")

    lons, lats = points(args.points, 1)
    lon_list, lat_list = lons.tolist(), lats.tolist()
    started = time.perf_counter()
    single = [grid.assign(x, y) for x, y in zip(lon_list, lat_list, strict=True)]
    single_rate = args.points / (time.perf_counter() - started)

    bulk_lons, bulk_lats = points(args.bulk_points, 2)
    started = time.perf_counter()
    grid.assign_many(bulk_lons, bulk_lats)
    bulk_rate = args.bulk_points / (time.perf_counter() - started)

    print(f"per-point  {single_rate:>12,.0f} points/s")
    print(f"bulk       {bulk_rate:>12,.0f} points/s")
    admin = (
        os.environ.get("GRID_SERVICE_BENCH_DATABASE_URL")
        or os.environ.get("GRID_SERVICE_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    with fresh_database(admin) as url:
        measured = asyncio.run(postgis_rate(url, grid, lons[: args.postgis_points], lats[: args.postgis_points]))
    if measured is not None:
        rate, answers = measured
        ours = [a.cell.code if a else "" for a in single[: args.postgis_points]]
        agree = sum(a == b for a, b in zip(answers, ours, strict=True)) / len(answers)
        print(f"PostGIS    {rate:>12,.0f} points/s  (ST_Covers, GiST, 8 connections; same cell for {agree:.2%})")
        print(f"ratio      per-point {single_rate / rate:,.1f} x PostGIS, bulk {bulk_rate / rate:,.1f} x PostGIS")


if __name__ == "__main__":
    main()

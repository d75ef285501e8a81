"""The deadline watch over 100,000 open cases of which 10 % are suspended and 10 % under 督办.

Usage: python bench/disputes_watch.py [--open 100000] [--runs 5]

Loads the open cases straight into a fresh database (deadlines spread over ten days around now,
every one already recorded as the watch would have: the steady state), then times the service's
own deadline watch:
  - one sweep when nothing is new (bar: <= 50 ms), against the baseline in the same run: the open
    cases counted past their deadline in one plain query;
  - one sweep when 10,000 suspensions reach their until at once (bar: <= 2 s), against the same
    10,000 cases' status changed back by one bare UPDATE (rolled back) in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path

import asyncpg
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, make_tokens
from bench.stats import median_seconds
from grid_service import keys
from grid_service.app import create_app
from grid_service.settings import Settings

# Every tenth case suspended (until a day or more ahead), every tenth but one under 督办 (answer due
# later), the rest running; each recorded as the watch leaves it (warned, overdue, escalated).
OPEN_CASES = """
INSERT INTO cases (id, case_no, status, pending_reason, category, urgent, lon, lat, grid_version, grid_code,
                   department, created_at, last_reported_at, dispatched_at, deadline_at, warn_at, updated_at,
                   warned_at, overdue_at, escalation_level, accept_due_at, acceptance_overdue_at,
                   suspended_at, suspended_until, suspended_from, suspensions, supervision_due_at)
SELECT gen_random_uuid(), 'O' || lpad(i::text, 9, '0'),
       CASE WHEN i % 10 = 0 THEN 'suspended' ELSE 'in_progress' END, NULL, 'construction_dust', false,
       126.6, 45.6, NULL, NULL, 'urban_management', d - interval '2 days', d - interval '2 days',
       d - interval '2 days', d, d - interval '10 hours', d - interval '2 days',
       CASE WHEN d - interval '10 hours' <= n.now THEN n.now END, CASE WHEN d <= n.now THEN n.now END,
       CASE WHEN d + interval '72 hours' <= n.now THEN 3 WHEN d + interval '24 hours' <= n.now THEN 2
            WHEN d + interval '4 hours' <= n.now THEN 1 ELSE 0 END,
       d - interval '46 hours', n.now,
       CASE WHEN i % 10 = 0 THEN n.now - interval '3 days' END,
       CASE WHEN i % 10 = 0 THEN n.now + interval '1 day' + (i::float8 / $1) * interval '30 days' END,
       CASE WHEN i % 10 = 0 THEN 'in_progress' END,
       CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END,
       CASE WHEN i % 10 = 1 THEN n.now + interval '4 hours' END
  FROM generate_series(1, $1) AS i
 CROSS JOIN (SELECT $2::timestamptz AS now) AS n
 CROSS JOIN LATERAL (SELECT n.now + ((i::float8 / $1) - 0.5) * interval '10 days' AS d) AS t
"""
COME_DUE = "UPDATE cases SET suspended_until = $1::timestamptz - interval '1 minute' WHERE status = 'suspended'"
BARE_RESUME = """
UPDATE cases SET status = suspended_from, suspended_at = NULL, suspended_until = NULL, suspended_from = NULL,
                 deadline_at = deadline_at + ($1::timestamptz - suspended_at), updated_at = $1
 WHERE status = 'suspended' AND suspended_until <= $1
"""


async def measure(database: str, now: dt.datetime, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(OPEN_CASES, args.open, now)
        await conn.execute("VACUUM ANALYZE cases")
        settings = Settings(database_url=database, log_level="WARNING", deadline_sweep_s=3600)
        app = create_app(settings, clock=lambda: now)
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            watch = app[keys.WATCH]
            await watch.sweep()  # whatever the load left to record (nothing, if it is the steady state)
            steady = await median_seconds(watch.sweep, args.runs)
            baseline = await median_seconds(
                lambda: conn.fetchval(
                    "SELECT count(*) FROM cases WHERE status IN ('dispatched', 'in_progress') AND deadline_at <= $1",
                    now,
                ),
                args.runs,
            )
            suspended = await conn.fetchval("SELECT count(*) FROM cases WHERE status = 'suspended'")
            supervised = await conn.fetchval("SELECT count(*) FROM cases WHERE supervision_due_at IS NOT NULL")
            print(f"{args.open:,} open cases, {suspended:,} suspended, {supervised:,} under 督办")
            print(
                f"sweep, nothing new          {steady * 1000:7.1f} ms   "
                f"(baseline: open cases past deadline counted {baseline * 1000:.1f} ms; bar <= 50 ms)"
            )
            await conn.execute(COME_DUE, now)
            bare_tx = conn.transaction()
            await bare_tx.start()
            started = time.perf_counter()
            await conn.execute(BARE_RESUME, now)
            bare = time.perf_counter() - started
            await bare_tx.rollback()
            started = time.perf_counter()
            result = await watch.sweep()
            seconds = time.perf_counter() - started
            print(
                f"sweep, {suspended:,} resume at once {seconds * 1000:7.0f} ms   ({result.resumed:,} resumed; "
                f"one bare UPDATE of them {bare * 1000:.0f} ms: {seconds / bare:.1f} x; bar <= 2 s)"
            )
        finally:
            await runner.cleanup()
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    with admin_url() as admin, fresh_database(admin) as database:
        make_tokens(database, [])  # migrated, with the shipped configuration
        asyncio.run(measure(database, now, args))


if __name__ == "__main__":
    main()

"""Failover: the primary killed under intake, its synchronous standby promoted, the service following.

Usage: python bench/failover.py [--runs 5] [--clients 8] [--workers 2] [--load-s 2] [--promote-after-s 0]

Each run builds a fresh primary and a hot standby from the machine's PostgreSQL binaries
(pg_basebackup, synchronous_standby_names naming the standby, synchronous_commit on), starts
grid-service with N workers on the URL naming both hosts (target_session_attrs=read-write), and
sends single reports from --clients inspectors for --load-s seconds. Then the primary is killed
with ``pg_ctl -m immediate stop`` and the standby promoted (``pg_ctl promote``) at once, or
--promote-after-s later (as a person or a failover manager would: the service waits meanwhile). Printed
per run:
  - followed: seconds from the primary's death (the kill has returned) to the first 2xx answering
    a report sent after it — that report was committed by the promoted standby (bar: <= 10 s);
  - promotion: when pg_ctl promote returned (it polls: the server may take writes a little earlier);
  - lost: reports answered 2xx whose client_id is not on the new primary (bar: 0 over the runs);
  - the answers by status over the run (503 while no server takes writes; 0 a failed connection).
Loopback only; each run is bounded by --load-s and a 30 s wait for the service to follow.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grid_service.db.pool import connect
from tests.conftest import make_token, with_database
from tests.fault.test_failover import DATABASE, SERVICE_ENV, Intake, replicated_pair
from tests.pg_cluster import have_binaries
from tests.served import start_serving

FOLLOW_S = 30.0


async def one_run(args: argparse.Namespace) -> tuple[float, float, int, dict[int, int]]:
    """(followed s, promotion s, acknowledged reports lost, answers by status)."""
    pair = await replicated_pair()
    try:
        conn = await connect(with_database(pair.primary.url, DATABASE))
        try:
            tokens = [await make_token(conn, "inspector") for _ in range(args.clients)]
        finally:
            await conn.close()
        server, base = await start_serving(pair.service_url, workers=args.workers, env=SERVICE_ENV)
        try:
            intake = Intake(base, tokens)
            load = asyncio.create_task(intake.run())
            await asyncio.sleep(args.load_s)
            await asyncio.to_thread(pair.primary.kill)
            intake.died_at = time.monotonic()
            await asyncio.sleep(args.promote_after_s)
            await asyncio.to_thread(pair.standby.promote)
            promoted_s = time.monotonic() - intake.died_at
            try:
                await asyncio.wait_for(intake.answered_again.wait(), timeout=FOLLOW_S)
            finally:
                intake.stop.set()
                await load
            assert intake.first_after is not None
            followed_s = intake.first_after - intake.died_at
        finally:
            server.terminate()
            await server.wait()
        new_primary = await connect(with_database(pair.standby.url, DATABASE))
        try:
            stored = await new_primary.fetchval(
                "SELECT count(DISTINCT client_id) FROM reports WHERE client_id = ANY($1::text[])", intake.acknowledged
            )
        finally:
            await new_primary.close()
        return followed_s, promoted_s, len(set(intake.acknowledged)) - stored, dict(sorted(intake.answers.items()))
    finally:
        await asyncio.to_thread(pair.standby.remove)
        await asyncio.to_thread(pair.primary.remove)


async def main(args: argparse.Namespace) -> None:
    followed, lost = [], 0
    for run in range(1, args.runs + 1):
        followed_s, promoted_s, lost_now, answers = await one_run(args)
        followed.append(followed_s)
        lost += lost_now
        print(
            f"run {run}: followed {followed_s:.2f} s (promotion {promoted_s:.2f} s), "
            f"lost {lost_now}, answers {answers}",
            flush=True,
        )
    print(
        f"over {args.runs} runs: followed max {max(followed):.2f} s, median {statistics.median(followed):.2f} s "
        f"(bar <= 10 s); acknowledged reports lost {lost} (bar 0)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load-s", type=float, default=2.0)
    parser.add_argument("--promote-after-s", type=float, default=0.0)
    arguments = parser.parse_args()
    if not have_binaries():
        sys.exit("bench/failover.py: the PostgreSQL server binaries are not installed")
    asyncio.run(main(arguments))

"""Statistics on 1,000,000 cases and their events, and the overdue sweep over 100,000 open cases.

Usage: python bench/stats.py [--cases 1000000] [--open 100000] [--runs 5]

Loads a year of history straight into a fresh database with INSERT ... SELECT
(cases spread evenly over the year; each with the events of its fate: closed
on time or late, rejected and re-dispatched, reworked, overdue, cancelled, extended,
suspended and resumed, appealed),
then times through the running service:
  - GET /api/v1/stats for the last month, grouped by department (and by the other groupings);
  - GET /api/v1/reports/monthly for the last full month, as JSON, xlsx and docx;
  - GET /api/v1/stats/daily over the year (and its default 30 days), and the three SVG charts of
    the workbench (trend, rates by department and by street, categories) for the last month;
  - one deadline-watch sweep over the open cases when nothing is new (the steady state),
    and when 10 % of them fell due at once (catching up after an outage).
Baselines, in the same run on the same database: the month's events counted by department
in one plain query; the open cases counted past their deadline in one plain query.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, make_tokens
from grid_service import keys
from grid_service.app import create_app
from grid_service.settings import Settings

CASES = """
INSERT INTO cases (id, case_no, status, pending_reason, category, urgent, lon, lat, grid_version, grid_code,
                   department, created_at, last_reported_at, dispatched_at, deadline_at, warn_at, updated_at)
SELECT gen_random_uuid(), 'H' || lpad(i::text, 9, '0'),
       CASE WHEN (i * 37) % 100 >= 95 THEN 'cancelled' ELSE 'closed' END, NULL,
       k.codes[1 + i % cardinality(k.codes)], false, 126.6, 45.6, g.version,
       g.codes[1 + (i * 13) % cardinality(g.codes)], d.codes[1 + (i * 7) % cardinality(d.codes)],
       t.created, t.created, t.created, t.created + interval '2 days', t.created + interval '38 hours', t.created
  FROM generate_series(1, $1) AS i
 CROSS JOIN (SELECT array_agg(code ORDER BY code) AS codes FROM categories) AS k
 CROSS JOIN (SELECT array_agg(code ORDER BY code) AS codes FROM departments) AS d
 CROSS JOIN (SELECT max(version) AS version, array_agg(code ORDER BY code) AS codes
               FROM grid_cells WHERE version = (SELECT max(version) FROM grid_versions)) AS g
 CROSS JOIN LATERAL (SELECT $2::timestamptz + (i::float8 / $1) * interval '365 days' AS created) AS t
"""
BULLETIN_FORMATS = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# The events of each case's fate in [$1, $2), in time order (so seq follows time, as in real life).
# They are written a month at a time, up to now (a case created in the last days is still open), so
# that case_facts is folded as it is in service: as the log grows. A case's last event comes 5 days
# after its creation (below), so the cases created from 6 days before a month on hold its events.
EVENTS = """
INSERT INTO events (case_id, type, at, actor, data, department, deadline_at, written_at)
SELECT c.id, v.type, v.at, 'bench', v.data, v.department, v.deadline_at, v.at
  FROM (SELECT c.*, (substr(c.case_no, 2)::bigint * 37) % 100 AS fate FROM cases c
         WHERE c.case_no LIKE 'H%' AND c.created_at >= $1::timestamptz - interval '6 days'
           AND c.created_at < $2) AS c
 CROSS JOIN LATERAL (VALUES
    ('case.created', c.created_at, '{}'::jsonb, c.department, NULL::timestamptz, true),
    ('case.dispatched', c.created_at, '{}', c.department, c.deadline_at, true),
    ('case.rejected', c.created_at + interval '1 hour', '{}', c.department, NULL, c.fate BETWEEN 80 AND 84),
    ('case.dispatched', c.created_at + interval '2 hours', '{}', c.department,
        c.deadline_at + interval '2 hours', c.fate BETWEEN 80 AND 84),
    ('case.accepted', c.created_at + interval '3 hours', '{}', c.department, NULL, c.fate < 95),
    ('case.overdue', c.deadline_at + interval '1 minute', '{}', c.department, NULL, c.fate BETWEEN 90 AND 94),
    ('case.resolved',
        c.created_at + CASE WHEN c.fate BETWEEN 90 AND 94 THEN interval '3 days' ELSE interval '1 day' END,
        jsonb_build_object('on_time', c.fate < 70), c.department, NULL, c.fate < 95),
    ('case.reopened', c.created_at + interval '25 hours', '{}', c.department, NULL, c.fate BETWEEN 85 AND 89),
    ('case.resolved', c.created_at + interval '26 hours', '{"on_time": true}', c.department, NULL,
        c.fate BETWEEN 85 AND 89),
    ('case.closed', c.created_at + interval '4 days', jsonb_build_object('on_time', c.fate < 70), c.department,
        NULL, c.fate < 95),
    ('case.cancelled', c.created_at + interval '5 hours', '{}', c.department, NULL, c.fate >= 95),
    -- disputes: approved extensions, suspensions resumed, approved appeals of late closures
    ('case.extension_decided', c.created_at + interval '6 hours',
        jsonb_build_object('approve', true, 'deadline_at', c.deadline_at + interval '2 days'), c.department, NULL,
        c.fate BETWEEN 70 AND 74),
    ('case.suspension_decided', c.created_at + interval '7 hours', '{"approve": true}', c.department, NULL,
        c.fate BETWEEN 75 AND 77),
    ('case.resumed', c.created_at + interval '19 hours',
        jsonb_build_object('deadline_at', c.deadline_at + interval '12 hours'), c.department, NULL,
        c.fate BETWEEN 75 AND 77),
    ('case.appeal_reviewed', c.created_at + interval '5 days', '{"approved": true, "final": true}', c.department,
        NULL, c.fate BETWEEN 78 AND 79)
 ) AS v (type, at, data, department, deadline_at, present)
 WHERE v.present AND v.at >= $1 AND v.at < $2
 ORDER BY v.at
"""
# Open cases for the sweep: deadlines spread over ten days around now, every one already past
# its deadline recorded as such (the steady state); `fell_due` of them are then made newly due.
OPEN_CASES = """
INSERT INTO cases (id, case_no, status, pending_reason, category, urgent, lon, lat, grid_version, grid_code,
                   department, created_at, last_reported_at, dispatched_at, deadline_at, warn_at, updated_at,
                   warned_at, overdue_at, escalation_level)
SELECT gen_random_uuid(), 'O' || lpad(i::text, 9, '0'), 'dispatched', NULL, 'construction_dust', false,
       126.6, 45.6, NULL, NULL, 'urban_management', d - interval '2 days', d - interval '2 days',
       d - interval '2 days', d, d - interval '10 hours', d - interval '2 days',
       CASE WHEN d - interval '10 hours' <= $2 THEN $2 END, CASE WHEN d <= $2 THEN $2 END,
       CASE WHEN d + interval '72 hours' <= $2 THEN 3 WHEN d + interval '24 hours' <= $2 THEN 2
            WHEN d + interval '4 hours' <= $2 THEN 1 ELSE 0 END
  FROM generate_series(1, $1) AS i
 CROSS JOIN LATERAL (SELECT $2::timestamptz + ((i::float8 / $1) - 0.5) * interval '10 days' AS d) AS t
"""
MAKE_DUE = """
UPDATE cases SET overdue_at = NULL, warned_at = NULL, escalation_level = 0
 WHERE id IN (SELECT id FROM cases WHERE case_no LIKE 'O%' AND overdue_at IS NOT NULL ORDER BY case_no DESC LIMIT $1)
"""

# The floor under any catch-up that keeps one event per record: the same number of events
# appended by one bare INSERT ... SELECT (no locks, no marks on the cases), then rolled back.
EVENTS_ALONE = """
INSERT INTO events (case_id, type, at, actor, data, department)
SELECT c.id, 'case.overdue', $1, 'clock',
       jsonb_build_object('warn_at', c.warn_at, 'deadline_at', c.deadline_at, 'department', c.department),
       c.department
  FROM cases c CROSS JOIN generate_series(1, 5) AS k
 WHERE c.case_no LIKE 'O%'
 LIMIT $2
"""


async def events_alone_seconds(conn: asyncpg.Connection, now: dt.datetime, count: int) -> float:
    transaction = conn.transaction()
    await transaction.start()
    try:
        started = time.perf_counter()
        await conn.execute(EVENTS_ALONE, now, count)
        return time.perf_counter() - started
    finally:
        await transaction.rollback()


async def median_seconds(call, runs: int) -> float:  # type: ignore[no-untyped-def]
    await call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


async def load(database: str, cases: int, open_cases: int, now: dt.datetime) -> int:
    conn = await asyncpg.connect(database)
    try:
        started = time.perf_counter()
        await conn.execute(CASES, cases, now - dt.timedelta(days=365))
        since = now - dt.timedelta(days=365)
        while since < now:
            until = min(since + dt.timedelta(days=30), now)
            await conn.execute(EVENTS, since, until)
            since = until
        await conn.execute(OPEN_CASES, open_cases, now)
        await conn.execute("VACUUM ANALYZE cases")
        await conn.execute("VACUUM ANALYZE events")
        await conn.execute("VACUUM ANALYZE case_facts")
        events: int = await conn.fetchval("SELECT count(*) FROM events")
        seconds = time.perf_counter() - started
        print(f"loaded {cases:,} cases, {events:,} events, {open_cases:,} open cases in {seconds:.0f} s")
        return events
    finally:
        await conn.close()


async def measure(database: str, token: str, now: dt.datetime, args: argparse.Namespace) -> None:
    settings = Settings(database_url=database, log_level="WARNING", deadline_sweep_s=3600)
    app = create_app(settings, clock=lambda: now)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    month = {"from": (now - dt.timedelta(days=30)).isoformat(), "to": now.isoformat()}
    conn = await asyncpg.connect(database)
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:

            async def get_stats(group_by: str, **extra: str) -> None:
                params = {**month, "group_by": group_by, **extra}
                async with session.get(f"{url}/api/v1/stats", params=params) as response:
                    assert response.status == 200, await response.text()
                    await response.read()

            print(f"one month of statistics, median of {args.runs} runs:")
            for group_by in ("department", "category", "street", "grid"):
                seconds = await median_seconds(lambda g=group_by: get_stats(g), args.runs)
                print(f"  GET /api/v1/stats group_by={group_by:<11} {seconds * 1000:7.0f} ms")
            seconds = await median_seconds(lambda: get_stats("department", adjusted="true"), args.runs)
            print(f"  GET /api/v1/stats group_by=department adjusted {seconds * 1000:7.0f} ms")
            # A month that ended a while ago: many of its cases had events since, and are judged
            # from their events up to its end rather than from their folded facts.
            earlier = {
                "from": (now - dt.timedelta(days=40)).isoformat(),
                "to": (now - dt.timedelta(days=10)).isoformat(),
            }
            seconds = await median_seconds(lambda: get_stats("department", **earlier), args.runs)
            print(f"  GET /api/v1/stats group_by=department, the 30 days to 10 days ago {seconds * 1000:7.0f} ms")

            last_month = (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")

            async def get_bulletin(accept: str) -> None:
                params = {"month": last_month}
                headers = {"Accept": accept}
                async with session.get(f"{url}/api/v1/reports/monthly", params=params, headers=headers) as response:
                    assert response.status == 200, await response.text()
                    await response.read()

            print(f"the monthly bulletin of {last_month} (bar: <= 3 s each), median of {args.runs} runs:")
            for kind, accept in BULLETIN_FORMATS.items():
                seconds = await median_seconds(lambda a=accept: get_bulletin(a), args.runs)
                print(f"  GET /api/v1/reports/monthly as {kind:<5}      {seconds * 1000:7.0f} ms")
        baseline = await median_seconds(
            lambda: conn.fetch(
                "SELECT department, count(*) FROM events WHERE at >= $1 AND at < $2 GROUP BY 1",
                now - dt.timedelta(days=30),
                now,
            ),
            args.runs,
        )
        print(f"  baseline: the month's events counted by department  {baseline * 1000:7.0f} ms")
        await measure_charts(session_url=url, token=token, now=now, conn=conn, baseline=baseline, runs=args.runs)

        watch = app[keys.WATCH]
        steady = await median_seconds(watch.sweep, args.runs)
        sweep_baseline = await median_seconds(
            lambda: conn.fetchval(
                "SELECT count(*) FROM cases WHERE status IN ('dispatched', 'in_progress') AND deadline_at <= $1", now
            ),
            args.runs,
        )
        print(f"deadline sweep over {args.open:,} open cases:")
        print(f"  nothing new (steady state)                 {steady * 1000:7.0f} ms")
        past_due = await conn.fetchval("SELECT count(*) FROM cases WHERE case_no LIKE 'O%' AND overdue_at IS NOT NULL")
        for fell_due in (args.open // 10, past_due):
            await conn.execute(MAKE_DUE, fell_due)
            started = time.perf_counter()
            result = await watch.sweep()
            seconds = time.perf_counter() - started
            print(
                f"  {fell_due:,} fell due at once (catching up)   {seconds * 1000:7.0f} ms   "
                f"({result.warnings:,} warnings, {result.overdue:,} overdue, {result.escalations:,} escalations)"
            )
            floor = await events_alone_seconds(conn, now, result.events)
            print(
                f"    the same {result.events:,} events appended alone   {floor * 1000:7.0f} ms   "
                f"(sweep / that floor: {seconds / floor:.1f} x)"
            )
        print(f"  baseline: open cases past deadline counted  {sweep_baseline * 1000:7.0f} ms")
    finally:
        await conn.close()
        await runner.cleanup()


async def measure_charts(
    *, session_url: str, token: str, now: dt.datetime, conn: asyncpg.Connection, baseline: float, runs: int
) -> None:
    """The workbench's statistics: the daily figures over the year, and the three SVG charts of a month,
    each against the month's baseline above; the year's daily figures also against a plain query
    counting the year's cases by day of creation (each instant put in the city's time, then grouped)."""
    year = {"from": (now - dt.timedelta(days=365)).isoformat(), "to": now.isoformat()}
    month = {"from": (now - dt.timedelta(days=30)).isoformat(), "to": now.isoformat()}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:

        async def get(path: str, params: dict[str, str]) -> None:
            async with session.get(f"{session_url}{path}", params=params) as response:
                assert response.status == 200, await response.text()
                await response.read()

        plain = await median_seconds(
            lambda: conn.fetch(
                "SELECT date_trunc('day', created_at AT TIME ZONE 'Asia/Shanghai'), count(*) FROM case_facts"
                " WHERE created_at >= $1 AND created_at < $2 GROUP BY 1",
                now - dt.timedelta(days=365),
                now,
            ),
            runs,
        )
        print(f"the workbench's statistics, median of {runs} runs (ratio: to the month's baseline above):")
        seconds = await median_seconds(lambda: get("/api/v1/stats/daily", year), runs)
        print(
            f"  GET /api/v1/stats/daily over the year      {seconds * 1000:7.0f} ms   ({seconds / baseline:.1f} x; "
            f"{seconds / plain:.1f} x the plain query)"
        )
        seconds = await median_seconds(lambda: get("/api/v1/stats/daily", {}), runs)
        print(f"  GET /api/v1/stats/daily, the last 30 days  {seconds * 1000:7.0f} ms   ({seconds / baseline:.1f} x)")
        print(f"  plain query: the year's cases counted by day of creation {plain * 1000:7.0f} ms")
        charts = (
            ("trend.svg", {}),
            ("rates.svg", {"group_by": "department"}),
            ("rates.svg", {"group_by": "street"}),
            ("categories.svg", {}),
        )
        for chart, extra in charts:
            seconds = await median_seconds(lambda c=chart, e=extra: get(f"/api/v1/stats/{c}", {**month, **e}), runs)
            what = f"{chart} {' '.join(f'{k}={v}' for k, v in extra.items())}".strip()
            print(f"  GET /api/v1/stats/{what:<29} {seconds * 1000:7.0f} ms   ({seconds / baseline:.1f} x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with admin_url() as admin, fresh_database(admin) as database:
        [token] = make_tokens(database, [(f"wall-{uuid.uuid4().hex[:6]}", "viewer", None)])
        asyncio.run(load(database, args.cases, args.open, now))
        asyncio.run(measure(database, token, now, args))


if __name__ == "__main__":
    main()

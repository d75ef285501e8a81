"""工作台 (the workbench) measured in the system Chromium against `grid-service serve`, over
bench/stats.py's year of history with 10,000 open cases.

Usage: python bench/desk.py [--cases 1000000] [--open 10000] [--runs 5] [--actions 60]

Prints, each against its bar (issue 16):
  - the department's inbox (待签收) and the dispatcher's list (待派遣) among the open cases, from the
    navigation to the page drawn with its first page of rows, against 1 s;
  - an action through the page (a clerk ticks a case in the inbox and clicks 签收所选) until its row
    is gone from the list, p50 and p99 over N actions, against 300 ms at p99;
  - the statistics page for the last full month (its tables, three charts and the heat map drawn),
    against 2 s.
Baselines, in the same run from the same page: the list's API call alone (fetch and parse), a bare
accept POST, and one GET /api/v1/stats for the month, so that the figures read against this machine.
The database is $GRID_SERVICE_BENCH_DATABASE_URL (or $GRID_SERVICE_TEST_DATABASE_URL), else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, fresh_database, make_tokens, service
from bench.stats import load

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "bench password 1"
PEOPLE = {"bench.clerk": ("department", "urban_management"), "bench.dispatcher": ("dispatcher", None),
          "bench.lead": ("shift_lead", None)}  # fmt: skip
# Half of the open cases wait for a dispatcher (no rule for them), half are in the inbox.
TO_PENDING = """
UPDATE cases SET status = 'pending_dispatch', pending_reason = 'no_rule', department = NULL, dispatched_at = NULL,
                 deadline_at = NULL, warn_at = NULL, step_since = created_at
 WHERE case_no LIKE 'O%' AND right(case_no, 1) IN ('0', '2', '4', '6', '8')
"""
DRAWN = """(rows) => !!document.body && !!document.body.dataset.listed
    && document.querySelectorAll('#cases tbody tr').length === rows"""
# One action as a person takes it: tick the first case, click 签收所选, until its row is gone.
ACT = """async () => {
    const row = document.querySelector('#cases tbody tr');
    const id = row.dataset.case;
    const started = performance.now();
    row.querySelector('input[type=checkbox]').click();
    document.getElementById('accept-selected').click();
    while (document.querySelector(`#cases tbody tr[data-case="${id}"]`)) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    return performance.now() - started;
}"""
BARE = """async ([path, method]) => {
    const started = performance.now();
    const init = {method, credentials: 'same-origin', headers: {'X-CSRF-Token': localStorage.getItem('xunchatong.csrf'),
                                                                'Content-Type': 'application/json'}};
    if (method === 'POST') init.body = '{}';
    const response = await fetch(path, init);
    await response.text();
    return [performance.now() - started, response.status];
}"""
STATS_DRAWN = """(month) => !!document.body && document.body.dataset.stats === month
    && [...document.querySelectorAll('.charts img')].length === 3
    && [...document.querySelectorAll('.charts img')].every((image) => image.complete && image.naturalWidth > 0)
    && document.querySelector('#heat') && document.querySelector('#heat').dataset.cells > 0"""


async def signed_in(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    await page.goto(f"{base}/desk/")
    await page.get_by_label("用户名", exact=True).fill(username)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.get_by_role("navigation", name="视图").wait_for()
    return context, page


async def until(page, expression: str, argument: object, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not await page.evaluate(expression, argument):
        if time.perf_counter() > deadline:
            raise AssertionError(f"not drawn within {timeout} s")
        await asyncio.sleep(0.005)


async def render(page, base: str, view: str, api_path: str, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median seconds from navigation to the list drawn, and of its API call alone."""
    drawn, bare = [], []
    for _ in range(runs + 1):  # the first warms the caches
        started = time.perf_counter()
        await page.goto(f"{base}/desk/?view={view}", wait_until="commit")
        await until(page, DRAWN, 50)
        drawn.append(time.perf_counter() - started)
        seconds, status = await page.evaluate(BARE, [api_path, "GET"])
        assert status == 200, status
        bare.append(seconds / 1000)
    return statistics.median(drawn[1:]), statistics.median(bare[1:])


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def actions(page, base: str, count: int, spare: list[str]) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    await page.goto(f"{base}/desk/?view=inbox")
    await until(page, DRAWN, 50)
    through_page, bare = [], []
    for n in range(count):
        through_page.append(await page.evaluate(ACT))
        await until(page, DRAWN, 50)
        seconds, status = await page.evaluate(BARE, [f"/api/v1/cases/{spare[n]}/accept", "POST"])
        assert status == 200, status
        bare.append(seconds)
    return through_page, bare


async def stats_page(page, base: str, month: str, runs: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Seconds to the page drawn the first time (every figure computed), then the median of the next
    views (the ended month's figures kept), and one GET /api/v1/stats of the month before, by
    department, never asked before (the baseline: one figures query computed)."""
    drawn = []
    year, number = (int(x) for x in month.split("-"))
    before = f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"
    # The baseline: the figures of the month before, never asked, by department, computed once.
    seconds, status = await page.evaluate(
        BARE, [f"/api/v1/stats?from={before}-01&to={month}-01&group_by=department", "GET"]
    )
    assert status == 200, status
    bare = seconds / 1000
    for _ in range(runs + 1):
        started = time.perf_counter()
        await page.goto(f"{base}/desk/?view=stats&month={month}", wait_until="commit")
        await until(page, STATS_DRAWN, month, timeout=60)
        drawn.append(time.perf_counter() - started)
    return drawn[0], statistics.median(drawn[1:]), bare


async def spare_cases(database: str, count: int) -> list[str]:
    """Inbox cases past the first pages, for the bare accepts (never the ones the page shows first)."""
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT id FROM cases WHERE status = 'dispatched' AND department = 'urban_management' ORDER BY id LIMIT $1",
            count,
        )
        return [str(r["id"]) for r in rows]
    finally:
        await conn.close()


async def measure(base: str, database: str, args: argparse.Namespace, month: str) -> None:
    from playwright.async_api import async_playwright

    async with aiohttp.ClientSession() as http:  # the service is up and has read the accounts
        for _ in range(100):
            async with http.get(f"{base}/readyz") as response:
                if response.status == 200:
                    break
            await asyncio.sleep(0.1)
    spare = await spare_cases(database, args.actions)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        clerk_context, clerk = await signed_in(browser, base, "bench.clerk")
        drawn, bare = await render(clerk, base, "inbox", "/api/v1/cases?status=dispatched&limit=50", args.runs)
        print(f"department inbox drawn in {drawn * 1000:.0f} ms (bar <= 1000 ms); its API call alone "
              f"{bare * 1000:.0f} ms (baseline), {drawn / bare:.1f} x")  # fmt: skip
        context, dispatcher = await signed_in(browser, base, "bench.dispatcher")
        drawn, bare = await render(
            dispatcher, base, "pending", "/api/v1/cases?status=pending_dispatch&limit=50", args.runs
        )
        print(f"dispatcher's list drawn in {drawn * 1000:.0f} ms (bar <= 1000 ms); its API call alone "
              f"{bare * 1000:.0f} ms (baseline), {drawn / bare:.1f} x")  # fmt: skip
        await context.close()
        through_page, bare_accepts = await actions(clerk, base, args.actions, spare)
        print(
            f"签收 through the page, click to row gone, {args.actions} actions: p50 {p(through_page, 0.5):.0f} ms, "
            f"p99 {p(through_page, 0.99):.0f} ms (bar <= 300 ms); a bare accept POST p50 "
            f"{p(bare_accepts, 0.5):.0f} ms, p99 {p(bare_accepts, 0.99):.0f} ms (baseline), "
            f"{p(through_page, 0.99) / p(bare_accepts, 0.99):.1f} x at p99"
        )
        await clerk_context.close()
        context, lead = await signed_in(browser, base, "bench.lead")
        cold, kept, bare = await stats_page(lead, base, month, max(1, args.runs // 2))
        print(f"statistics page for {month}: first view, every figure computed, {cold:.2f} s (bar <= 2 s); "
              f"later views, the ended month's figures kept, {kept:.2f} s; one GET /api/v1/stats of the month "
              f"before, computed, {bare:.2f} s (baseline): first view {cold / bare:.1f} x")  # fmt: skip
        await context.close()
        await browser.close()


def last_full_month(now: dt.datetime) -> str:
    first = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date().replace(day=1)
    before = first - dt.timedelta(days=1)
    return f"{before.year}-{before.month:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--actions", type=int, default=60)
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with admin_url() as admin, fresh_database(admin) as database:
        make_tokens(database, [])  # migrated, with the shipped configuration
        for username, (role, department) in PEOPLE.items():
            account = ["user", "create", "--username", username, "--role", role]
            account += ["--department", department] if department else []
            subprocess.run(
                [sys.executable, "-m", "grid_service", *account], input=PASSWORD + "\n", text=True, check=True,
                capture_output=True, env={**os.environ, "GRID_SERVICE_DATABASE_URL": database},
            )  # fmt: skip
        asyncio.run(load(database, args.cases, args.open, now))

        async def split() -> None:
            conn = await asyncpg.connect(database)
            try:
                await conn.execute(TO_PENDING)
                await conn.execute("VACUUM ANALYZE cases")
                counts = await conn.fetch("SELECT status, count(*) FROM cases WHERE case_no LIKE 'O%' GROUP BY 1")
                print("open cases:", ", ".join(f"{r['status']} {r['count']:,}" for r in counts))
            finally:
                await conn.close()

        asyncio.run(split())
        with service(database, workers=2) as base:
            asyncio.run(measure(base, database, args, last_full_month(now)))


if __name__ == "__main__":
    main()

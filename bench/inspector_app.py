"""巡查通 (the inspector's app) measured in the system Chromium against `grid-service serve`.

Usage: python bench/inspector_app.py [--reports 100] [--photo-kb 300]

Prints, each against its bar (issue 15):
  - the shell's size: the app's HTML, scripts, style, manifest and icon, gzip-compressed, against
    150 KB (Leaflet, loaded only for the map, apart);
  - a first visit of a signed-in phone (nothing cached) until the report form answers input, on an
    emulated slow 3G line (DevTools' preset: 2 s round trip, 400 kbit/s each way) with the CPU slowed
    4 ×, against 5 s; and a repeat visit from the service worker on the same line, against 1 s;
  - an outbox of N reports with 2 photos of about K KB each draining over loopback, against 30 s,
    with the reports and photos counted on the server after (each once).
The baseline in the same run: the same first visit of the map page's HTML alone, and a bare upload
of the same photos with curl-like requests, so that the figures read against this machine.
The database is $GRID_SERVICE_BENCH_DATABASE_URL (or $GRID_SERVICE_TEST_DATABASE_URL), else embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, cli, fresh_database, service
from grid_service.handlers.inspector_app import APP_DIR, SHELL

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
PASSWORD = "bench password 1"
TIMELINE = """JSON.stringify(performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .map(e => [e.name.split('/').pop(), Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize]))"""
USABLE = "!document.getElementById('report').hidden && !document.getElementById('description').disabled"


def shell_size() -> tuple[int, int]:
    raw = sum((APP_DIR / name).stat().st_size for name in SHELL)
    packed = sum(len(gzip.compress((APP_DIR / name).read_bytes(), 9)) for name in SHELL)
    return raw, packed


async def signed_in(base: str) -> tuple[str, dict[str, object]]:
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{base}/api/v1/session", json={"username": "bench.inspector", "password": PASSWORD})
        body = await response.json()
        return response.cookies["gs_session"].value, body


async def until_usable(page, started: float) -> float:  # type: ignore[no-untyped-def]
    # Polled from outside: the page's policy forbids the eval that in-page waiting needs.
    while not await page.evaluate(USABLE):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    await page.get_by_label("描述").fill("油烟")  # the form answers input
    return time.perf_counter() - started


async def visits(browser, base: str) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    secret, session = await signed_in(base)
    host = base.split("//")[1].split(":")[0]
    state = {
        "cookies": [{"name": "gs_session", "value": secret, "domain": host, "path": "/", "httpOnly": True,
                     "secure": False, "sameSite": "Strict"}],
        "origins": [{"origin": base, "localStorage": [
            {"name": "xunchatong.user", "value": json.dumps(session["user"])},
            {"name": "xunchatong.csrf", "value": str(session["csrf_token"])},
        ]}],
    }  # fmt: skip
    context = await browser.new_context(viewport={"width": 390, "height": 844}, storage_state=state)
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    started = time.perf_counter()
    await page.goto(f"{base}/map", wait_until="commit")  # the baseline: one page's HTML on this line
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    await page.goto(f"{base}/app/", wait_until="commit")
    first = await until_usable(page, started)
    mark = await page.evaluate("performance.getEntriesByName('usable')[0].startTime")
    print(f"slow 3G, CPU 4x: the page marks itself usable {mark / 1000:.2f} s after its navigation began")
    if "--timeline" in sys.argv:  # each file: name, start, end (ms), bytes on the wire, body bytes
        print(await page.evaluate(TIMELINE))
    await page.evaluate("navigator.serviceWorker.ready")
    while not await page.evaluate("navigator.serviceWorker.controller !== null"):  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # the worker has kept the shell and controls the page
    started = time.perf_counter()
    await page.reload(wait_until="commit")
    repeat = await until_usable(page, started)
    served = await page.evaluate("performance.getEntriesByType('navigation')[0].workerStart > 0")
    assert served, "the repeat visit was not served by the service worker"
    await context.close()
    return baseline, first, repeat


async def drain(browser, base: str, database: str, reports: int, photo_kb: int) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    secret, session = await signed_in(base)
    host = base.split("//")[1].split(":")[0]
    context = await browser.new_context()
    await context.add_cookies([{"name": "gs_session", "value": secret, "domain": host, "path": "/"}])
    page = await context.new_page()
    await page.goto(f"{base}/app/")
    await page.evaluate(
        "([user, token]) => { localStorage.setItem('xunchatong.user', user);"
        " localStorage.setItem('xunchatong.csrf', token); }",
        [json.dumps(session["user"]), session["csrf_token"]],
    )
    await context.set_offline(True)  # filled while offline, so that the drain is measured whole
    await page.evaluate(
        """async ([count, kb]) => {
            const outbox = await import('/app/static/outbox.js');
            const side = Math.round(Math.sqrt(kb * 1024 / 0.78));  // noise at quality 0.9: about kb KB
            async function photo(seed) {
                const canvas = document.createElement('canvas');
                canvas.width = side; canvas.height = side;
                const context = canvas.getContext('2d');
                const pixels = context.createImageData(side, side);
                let x = seed * 2654435761 >>> 0;
                for (let i = 0; i < pixels.data.length; i++) {
                    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; pixels.data[i] = x & 255;
                }
                context.putImageData(pixels, 0, 0);
                return new Promise(resolve => canvas.toBlob(resolve, 'image/jpeg', 0.9));
            }
            for (let n = 0; n < count; n++) {
                const report = {category: 'exposed_garbage', urgent: false, description: `积压 ${n}`,
                                location: {type: 'Point', coordinates: [126.6050 + n * 0.0007, 45.6025]},
                                accuracy_m: 5, self_handled: false};
                const photos = [];
                for (const k of [0, 1]) photos.push({role: 'before', blob: await photo(n * 2 + k + 1), lon: 126.605,
                                                      lat: 45.6025, accuracy_m: 5, taken_at: new Date().toISOString(),
                                                      media_id: null});
                await outbox.put(outbox.newItem(report, photos));
            }
        }""",
        [reports, photo_kb],
    )
    sizes = await page.evaluate(
        "import('/app/static/outbox.js').then(o => o.all())"
        ".then(items => items.flatMap(i => i.photos.map(p => p.blob.size)))"
    )
    await context.set_offline(False)
    started = time.perf_counter()
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    conn = await asyncpg.connect(database)
    try:
        while await conn.fetchval("SELECT count(*) FROM reports") < reports:
            if time.perf_counter() - started > 120:
                break
            await asyncio.sleep(0.1)
        seconds = time.perf_counter() - started
        made = await conn.fetchval("SELECT count(*) FROM reports")
        photos = await conn.fetchval("SELECT count(*) FROM media")
    finally:
        await conn.close()
    await context.close()
    print(f"photos in the outbox: {len(sizes)}, {sum(sizes) / len(sizes) / 1024:.0f} KB each on average")
    return seconds, made, photos


async def measure(base: str, database: str, args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    raw, packed = shell_size()
    print(f"shell: {raw / 1024:.1f} KB, {packed / 1024:.1f} KB gzip-compressed (bar <= 150 KB)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        baseline, first, repeat = await visits(browser, base)
        print(f"slow 3G, CPU 4x: the map page's HTML alone {baseline:.2f} s (baseline)")
        print(
            f"slow 3G, CPU 4x: first visit usable in {first:.2f} s (bar <= 5 s), {first / baseline:.1f} x the baseline"
        )
        print(f"slow 3G, CPU 4x: repeat visit from the service worker usable in {repeat:.2f} s (bar <= 1 s)")
        seconds, made, photos = await drain(browser, base, database, args.reports, args.photo_kb)
        once = made == args.reports and photos == 2 * args.reports
        print(
            f"outbox of {args.reports} reports x 2 photos drained in {seconds:.1f} s (bar <= 30 s): "
            f"{made} reports and {photos} photos on the server (each once: {once})"
        )
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--photo-kb", type=int, default=300)
    parser.add_argument("--timeline", action="store_true", help="print the first visit's resource timings")
    args = parser.parse_args()
    with admin_url() as admin, fresh_database(admin) as database:
        cli(database, "migrate")
        account = ["user", "create", "--username", "bench.inspector", "--role", "inspector"]
        subprocess.run(
            [sys.executable, "-m", "grid_service", *account], input=PASSWORD + "\n", text=True, check=True,
            capture_output=True, env={**os.environ, "GRID_SERVICE_DATABASE_URL": database},
        )  # fmt: skip
        with service(database, workers=1) as base:
            asyncio.run(measure(base, database, args))


if __name__ == "__main__":
    main()

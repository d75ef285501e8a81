"""The wall screen (/map) at the command center's 1920 × 1080: the day's figures as the statistics give
them, the warning list, the filters kept in the address, a case opened with its photos and history,
the city's midnight taking the day's finished cases away, legible captions, and the page reading
with a signed-in account's session instead of a token.

Time moves in two places at once: the browser's clock (playwright's page.clock) and the service's
(create_app's clock), jumped forward together, so the page and the service agree on the day."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, IN_STREET_2, report, upload_photo
from tests.browser.test_map_page import HOSTILE, eventually, open_map, watched
from tests.conftest import PASSWORD, bearer, make_user, settings_for

CITY = ZoneInfo("Asia/Shanghai")  # the fixture calendar's time zone
GREEN, YELLOW, GREY = "#22c55e", "#facc15", "#64748b"
FIGURES = ("day-reported", "day-filed", "day-closed", "day-closure-rate", "day-on-time-rate")


class MovableClock:
    """The service's clock: the real time, moved forward by the test together with the browser's."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead


@dataclass
class Service:
    client: TestClient
    clock: MovableClock


@pytest.fixture
async def service(db, db_url):
    """The service, started once the wall's accounts exist (a worker reads the accounts as it starts)."""
    await make_user(db, "wall.viewer", "viewer")
    await make_user(db, "wall.receiver", "receiver")
    clock = MovableClock()
    app = create_app(settings_for(db_url, config_poll_s=0.1), clock=clock)
    async with TestClient(TestServer(app)) as client:
        yield Service(client, clock)


@pytest.fixture
async def screen(browser, service):
    """A 1920 × 1080 wall screen whose clock the test moves, with what it logged and requested."""
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = watched(await context.new_page(), service.client)
    await page.clock.install()  # before the page's scripts run: its timers are then the test's to move
    yield page
    await context.close()


async def jump(page, service: Service, ms: int) -> None:
    """Time passes: ``ms`` milliseconds later for the service and the browser alike."""
    service.clock.ahead += dt.timedelta(milliseconds=ms)
    await page.clock.fast_forward(ms)


async def away_from_midnight() -> None:
    """A test that compares the day's figures waits for the new day if the city's midnight is near."""
    now = dt.datetime.now(CITY)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight - now < dt.timedelta(minutes=2):
        await asyncio.sleep((midnight - now).total_seconds() + 1)


async def post(client, path: str, token: str, body: dict) -> dict:
    response = await client.post(path, json=body, headers=bearer(token))
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def reported(client, token: str, *args, **fields) -> dict:
    """The intake's answer to a report (tests.api.helpers.report's arguments)."""
    return await post(client, "/api/v1/reports", token, report(*args, **fields))


async def close(client, tokens, case_id: str) -> None:
    await post(client, f"/api/v1/cases/{case_id}/accept", tokens["department"], {})
    await post(client, f"/api/v1/cases/{case_id}/resolve", tokens["department"], {})
    await post(client, f"/api/v1/cases/{case_id}/verify", tokens["inspector"], {"passed": True})


async def days_figures(client, token: str) -> dict[str, str]:
    """The day's figures as the page should show them, from the statistics' department groups (read
    with another token than the page's: each token has only so many heavy reads in flight)."""
    today = dt.datetime.now(CITY).date().isoformat()
    response = await client.get(f"/api/v1/stats?from={today}&group_by=department", headers=bearer(token))
    assert response.status == 200, await response.text()
    groups = (await response.json())["groups"]

    def total(field: str) -> int:
        return sum(g[field] for g in groups)

    def rate(part: str) -> str:
        return f"{100 * total(part) / total('due'):.1f}%" if total("due") else "—"

    return {
        "day-reported": str(total("reported")),
        "day-filed": str(total("filed")),
        "day-closed": str(total("closed")),
        "day-closure-rate": rate("closed"),
        "day-on-time-rate": rate("closed_on_time"),
    }


async def shown_figures(page) -> dict[str, str]:
    return {name: (await page.locator(f"#{name}").text_content() or "").strip() for name in FIGURES}


async def until_equal(page, expected_of, seconds: float = 5.0) -> dict[str, str]:
    """Until the page shows what ``expected_of()`` reads from the API (read afresh each time)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        expected = await expected_of()
        shown = await shown_figures(page)
        if shown == expected:
            return shown
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the wall shows {shown}, the statistics say {expected}")
        await asyncio.sleep(0.05)


def in_list(list_id: str, case_no: str) -> str:
    return f"[...document.querySelectorAll('#{list_id} li')].some((li) => li.textContent.includes({case_no!r}))"


def on_map(case_id: str) -> str:
    return (
        f"window.commandCenter.markers.has({case_id!r})"
        f" && window.commandCenter.map.hasLayer(window.commandCenter.markers.get({case_id!r}))"
    )


def colour_of(case_id: str) -> str:
    return f"window.commandCenter.markers.get({case_id!r}).options.fillColor"


async def sign_in(page, client, username: str) -> None:
    """The browser signs in as it would at /desk/ or /app/: the session cookie is then the browser's."""
    response = await page.context.request.post(
        str(client.make_url("/api/v1/session")), data={"username": username, "password": PASSWORD}
    )
    assert response.status == 200, await response.text()


async def test_the_days_figures_equal_the_statistics_after_reports_and_a_close(screen, service, tokens):
    await away_from_midnight()
    client = service.client
    first, _ = [await reported(client, tokens["inspector"], point=point) for point in (IN_CELL_1, IN_CELL_2)]
    await reported(client, tokens["inspector"], point=FAR_AWAY)  # waits for a dispatcher
    await open_map(screen, client, tokens["viewer"])
    shown = await until_equal(screen, lambda: days_figures(client, tokens["dispatcher"]))
    assert shown["day-reported"] == "3" and shown["day-closed"] == "0"
    await close(client, tokens, first["case_id"])  # three events reach the wall: one read of the figures for them
    await jump(screen, service, 5_000)  # the figures are read at most every 5 s
    shown = await until_equal(screen, lambda: days_figures(client, tokens["dispatcher"]))
    assert shown["day-closed"] == "1" and shown["day-closure-rate"] == "100.0%"
    assert screen.log.errors == [] and screen.log.outside == []


async def test_figures_refused_once_are_read_again_after_the_gap_not_at_the_next_minute(screen, service, tokens):
    """The day's figures answered 429 (the screen's own map read holding its token's heavy reads, as
    on a busy service): the page asks again after the 5 s gap instead of leaving them a minute stale."""
    await away_from_midnight()
    client = service.client
    await reported(client, tokens["inspector"], point=IN_CELL_1)
    refused = asyncio.Event()

    async def refuse_the_first(route) -> None:
        if refused.is_set():
            await route.continue_()
            return
        refused.set()
        body = '{"error": {"code": "too_many_requests", "message": "busy", "details": []}}'
        await route.fulfill(status=429, headers={"Retry-After": "1"}, content_type="application/json", body=body)

    await screen.route(re.compile(r"/api/v1/stats\?"), refuse_the_first)
    await open_map(screen, client, tokens["viewer"])
    await asyncio.wait_for(refused.wait(), timeout=5)  # the page asked for the day's figures, refused
    assert await screen.evaluate("document.getElementById('day-reported').textContent") == "—"
    await jump(screen, service, 6_000)  # past the gap; the next minute is far
    await eventually(screen, "document.getElementById('day-reported').textContent === '1'", seconds=5)


async def test_a_case_at_eighty_percent_of_its_limit_is_in_the_warning_list(screen, service, tokens):
    client = service.client
    # 暴露垃圾: 30 natural minutes; yellow from the 24th, red from the 30th.
    ack = await reported(client, tokens["inspector"], "exposed_garbage", IN_CELL_1)
    await open_map(screen, client, tokens["viewer"])
    await eventually(screen, on_map(ack["case_id"]))
    assert await screen.evaluate(colour_of(ack["case_id"])) == GREEN
    assert await screen.locator("#warning-list li").count() == 0
    await jump(screen, service, 25 * 60_000)
    await eventually(screen, in_list("warning-list", ack["case_no"]))
    assert await screen.locator("#warning-list li").first.get_attribute("class") == "yellow"
    assert await screen.locator("#warning-count").text_content() == "1"
    assert await screen.locator("#counters li[data-status=warning] b").text_content() == "1"
    assert await screen.evaluate(colour_of(ack["case_id"])) == YELLOW
    assert await screen.locator("#overdue-list li").count() == 0
    await jump(screen, service, 6 * 60_000)  # past its deadline: from the warning list to the overdue one
    await eventually(screen, in_list("overdue-list", ack["case_no"]))
    assert await screen.locator("#warning-list li").count() == 0
    assert screen.log.errors == [] and screen.log.outside == []


async def test_the_filters_hide_other_categories_and_departments_and_survive_a_reload(screen, service, tokens):
    client = service.client
    garbage = await reported(client, tokens["inspector"], "exposed_garbage", IN_STREET_2)
    building = await reported(client, tokens["inspector"], "illegal_construction", IN_STREET_2)
    waiting = await reported(client, tokens["inspector"], "exposed_garbage", FAR_AWAY)
    other_waiting = await reported(client, tokens["inspector"], "outdoor_barbecue", FAR_AWAY)
    assert (garbage["department"]["code"], building["department"]["code"]) == ("sanitation", "street_office")
    await open_map(screen, client, tokens["viewer"])
    await eventually(screen, "document.querySelectorAll('#pending-list li').length === 2")

    await screen.get_by_label("类别", exact=True).select_option(label="暴露垃圾")
    await eventually(screen, f"!({on_map(building['case_id'])})")
    assert await screen.evaluate(on_map(garbage["case_id"]))
    assert "category=exposed_garbage" in screen.url
    await eventually(screen, "document.querySelectorAll('#pending-list li').length === 1")
    assert waiting["case_no"] in await screen.locator("#pending-list").text_content()
    assert other_waiting["case_no"] not in await screen.locator("#pending-list").text_content()
    assert await screen.locator("#counters li[data-status=dispatched] b").text_content() == "1"

    await screen.reload()
    await screen.wait_for_selector("#live.on", timeout=10_000)
    assert await screen.get_by_label("类别", exact=True).input_value() == "exposed_garbage"
    await eventually(screen, on_map(garbage["case_id"]))
    assert not await screen.evaluate(on_map(building["case_id"]))

    await screen.get_by_label("类别", exact=True).select_option(value="")
    await screen.get_by_label("部门", exact=True).select_option(label="街道办事处")
    await eventually(screen, f"{on_map(building['case_id'])} && !({on_map(garbage['case_id'])})")
    assert "department=street_office" in screen.url and "category=" not in screen.url
    # Waiting for a dispatcher, they have no department yet: not the street office's.
    await eventually(screen, "document.querySelectorAll('#pending-list li').length === 0")
    assert screen.log.errors == [] and screen.log.outside == []


async def test_a_case_opens_with_its_photo_and_its_history_and_hostile_text_stays_text(screen, service, tokens):
    client = service.client
    photo = await upload_photo(client, tokens["inspector"])
    ack = await reported(client, tokens["inspector"], point=IN_CELL_1, description=HOSTILE, media=[photo])
    await post(client, f"/api/v1/cases/{ack['case_id']}/accept", tokens["department"], {"note": HOSTILE})
    await open_map(screen, client, tokens["viewer"])
    await eventually(screen, on_map(ack["case_id"]))
    # Its marker, clicked where the map draws it.
    x, y = await screen.evaluate(
        f"(() => {{ const cc = window.commandCenter;"
        f" const p = cc.map.latLngToContainerPoint(cc.markers.get({ack['case_id']!r}).getLatLng());"
        f" return [p.x, p.y]; }})()"
    )
    box = await screen.locator("#map").bounding_box()
    await screen.mouse.click(box["x"] + x, box["y"] + y)
    panel = screen.get_by_role("dialog")
    await panel.locator(".history li").nth(1).wait_for(timeout=5_000)
    facts = await panel.locator("dl").text_content()
    assert ack["case_no"] in await panel.locator("h3").text_content()
    assert "违法建设" in facts and "处置中" in facts and "城市管理行政执法局" in facts
    assert ack["deadline_at"][5:10] in facts.replace("/", "-"), "the deadline, as a date in the city"
    await eventually(
        screen,
        "(() => { const img = document.querySelector('#case-body img');"
        " return !!img && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0; })()",
        seconds=5,
    )
    history = await panel.locator(".history").text_content()
    assert "上报" in history and "签收" in history and HOSTILE in history
    assert HOSTILE in await panel.locator(".reports").text_content()
    assert await panel.locator("img").count() == 1, "the photo only: the hostile text made no element"
    await panel.get_by_role("button", name="关闭 close").click()
    assert await screen.locator("#case-panel").is_hidden()
    assert screen.log.dialogs == [] and screen.log.errors == [] and screen.log.outside == []


async def test_the_days_finished_cases_stay_grey_across_a_reload_until_the_citys_midnight_then_leave(
    screen, service, tokens
):
    """One case closed before a reload (the page reloaded never saw it close: the snapshot brings it
    back), one closed after; both grey until midnight, then gone, and a reload then keeps them away."""
    await away_from_midnight()  # closed a minute before midnight would leave before the first look
    client = service.client
    points = (IN_CELL_1, IN_CELL_2, IN_STREET_2)
    earlier, later, still_open = [await reported(client, tokens["inspector"], point=point) for point in points]
    await open_map(screen, client, tokens["viewer"])
    await close(client, tokens, earlier["case_id"])
    await eventually(screen, f"{colour_of(earlier['case_id'])} === {GREY!r}", seconds=5)

    await screen.reload()
    await screen.wait_for_selector("#live.on", timeout=10_000)
    await eventually(screen, f"{on_map(earlier['case_id'])} && {colour_of(earlier['case_id'])} === {GREY!r}")
    assert await screen.evaluate(f"window.commandCenter.cases.get({earlier['case_id']!r}).properties.finished_at")
    await close(client, tokens, later["case_id"])
    await eventually(screen, f"{colour_of(later['case_id'])} === {GREY!r}", seconds=5)
    await eventually(screen, "document.querySelector('#counters li[data-status=closed] b').textContent === '2'")

    now_ms = await screen.evaluate("Date.now()")
    now = dt.datetime.fromtimestamp(now_ms / 1000, CITY)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    midnight_ms = int((day_start + dt.timedelta(days=1)).timestamp() * 1000)
    assert await screen.evaluate(f"window.commandCenter.dayEndsAt({now_ms}, 'Asia/Shanghai')") == midnight_ms
    assert await screen.evaluate(f"window.commandCenter.dayStartsAt({now_ms}, 'Asia/Shanghai')") == int(
        day_start.timestamp() * 1000
    )
    to_midnight = midnight_ms - now_ms
    await jump(screen, service, to_midnight - 60_000)  # a minute before: still there, grey
    await asyncio.sleep(0.2)
    for case in (earlier, later):
        assert await screen.evaluate(on_map(case["case_id"]))
        assert await screen.evaluate(colour_of(case["case_id"])) == GREY
    await jump(screen, service, 2 * 60_000)  # a minute after, without a reload
    gone = " && ".join(f"!window.commandCenter.cases.has({case['case_id']!r})" for case in (earlier, later))
    await eventually(screen, gone)
    assert await screen.evaluate(on_map(still_open["case_id"])), "an open case stays"
    await eventually(screen, "document.querySelector('#counters li[data-status=closed] b').textContent === '0'")
    await jump(screen, service, 5_000)  # the new day's figures, read a moment after midnight
    await eventually(screen, "document.getElementById('day-reported').textContent === '0'", seconds=5)

    await screen.reload()  # finished yesterday: not brought back
    await screen.wait_for_selector("#live.on", timeout=10_000)
    await eventually(screen, on_map(still_open["case_id"]))
    assert await screen.evaluate("window.commandCenter.cases.size") == 1
    assert screen.log.errors == [] and screen.log.outside == []


async def test_no_text_is_smaller_than_14_px_at_1920_by_1080(screen, service, tokens):
    client = service.client
    photo = await upload_photo(client, tokens["inspector"])
    ack = await reported(client, tokens["inspector"], "exposed_garbage", IN_CELL_1, media=[photo])
    await reported(client, tokens["inspector"], point=FAR_AWAY)  # pending dispatch
    await reported(client, tokens["channel"], point=IN_CELL_2)  # awaiting a receiver, checked
    await open_map(screen, client, tokens["viewer"])
    await jump(screen, service, 25 * 60_000)  # the first one in the warning list
    await eventually(screen, in_list("warning-list", ack["case_no"]))
    await eventually(screen, "document.getElementById('day-reported').textContent === '3'", seconds=5)
    await screen.locator("#warning-list li").first.click()
    await eventually(screen, "!!document.querySelector('#case-body img')?.naturalWidth", seconds=5)
    # A cell's tooltip, under the pointer away from the markers and the open case.
    x, y = await screen.evaluate(
        "(() => { const p = window.commandCenter.map.latLngToContainerPoint([45.6075, 126.601]);"
        " return [p.x, p.y]; })()"
    )
    box = await screen.locator("#map").bounding_box()
    deadline = asyncio.get_running_loop().time() + 5
    while not await screen.locator(".leaflet-tooltip").is_visible():
        assert asyncio.get_running_loop().time() < deadline, "no tooltip under the pointer"
        # Leaflet's canvas sees the pointer move in (it looks at most every 32 ms)
        await screen.mouse.move(box["x"] + x - 20, box["y"] + y - 20)
        await screen.mouse.move(box["x"] + x, box["y"] + y, steps=5)
        await asyncio.sleep(0.1)
    checked = await screen.evaluate(
        """(() => {
          const small = [];
          let seen = 0;
          for (const el of document.querySelectorAll("body *")) {
            const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
            if (!text && !el.matches("select, button")) continue;
            if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
            seen += 1;
            const size = parseFloat(getComputedStyle(el).fontSize);
            if (size < 14) small.push(`${el.tagName}.${el.className} ${size}px: ${el.textContent.trim().slice(0, 30)}`);
          }
          return { small, seen };
        })()"""
    )
    assert checked["small"] == []
    assert checked["seen"] > 80, "the walk saw the page's texts"
    for part in ("#case-body figcaption", ".leaflet-tooltip", ".leaflet-control-zoom-in", "#day-on-time-rate"):
        assert await screen.locator(part).first.is_visible(), part
    assert screen.log.errors == [] and screen.log.outside == []


async def test_a_signed_in_viewer_needs_no_token(screen, service, tokens):
    client = service.client
    photo = await upload_photo(client, tokens["inspector"])
    ack = await reported(client, tokens["inspector"], point=IN_CELL_1, media=[photo])
    await sign_in(screen, client, "wall.viewer")
    await screen.goto(str(client.make_url("/map")))
    await screen.wait_for_selector("#live.on", timeout=10_000)  # the feed follows with the session's cookie
    assert await screen.locator("#who").text_content() == "wall.viewer 同志"
    await eventually(screen, on_map(ack["case_id"]))
    await eventually(screen, "document.getElementById('day-reported').textContent === '1'", seconds=5)
    await eventually(screen, "document.querySelector('#counters li[data-status=dispatched] b').textContent === '1'")
    await screen.evaluate(f"window.commandCenter.openCase({ack['case_id']!r})")
    await eventually(screen, "!!document.querySelector('#case-body img')?.naturalWidth", seconds=5)
    later = await reported(client, tokens["inspector"], point=IN_CELL_2)
    await eventually(screen, on_map(later["case_id"]), seconds=3)  # live
    assert screen.log.errors == [] and screen.log.outside == []


async def test_an_account_the_figures_are_not_for_sees_the_wall_without_them(screen, service, tokens):
    client = service.client
    stats_reads: list[str] = []
    screen.on("request", lambda r: stats_reads.append(r.url) if "/api/v1/stats" in r.url else None)
    ack = await reported(client, tokens["channel"], point=IN_CELL_1)
    await sign_in(screen, client, "wall.receiver")
    await screen.goto(str(client.make_url("/map")))
    await screen.wait_for_selector("#live.on", timeout=10_000)
    await eventually(screen, in_list("reported-list", ack["case_no"]))
    assert await screen.locator("#figures").is_hidden()
    assert stats_reads == [], "a receiver is not sent to be refused"
    assert screen.log.errors == [] and screen.log.outside == []


async def test_a_token_the_figures_are_not_for_hides_them_after_one_refusal(screen, service, tokens):
    """A token's role is learnt only by asking: the one refused read is the browser's own console note."""
    client = service.client
    await open_map(screen, client, tokens["department"])
    await eventually(screen, "document.getElementById('figures').hidden", seconds=5)
    await jump(screen, service, 61_000)  # the minute's reading is not made again
    await asyncio.sleep(0.2)
    assert len(screen.log.errors) == 1 and "status of 403" in screen.log.errors[0], screen.log.errors


async def test_without_a_token_or_a_session_the_wall_says_to_sign_in(screen, service):
    await screen.goto(str(service.client.make_url("/map")))
    await eventually(screen, "!document.getElementById('problem').hidden", seconds=5)
    assert "登录" in await screen.locator("#problem").text_content()
    assert await screen.locator("#figures").is_hidden()

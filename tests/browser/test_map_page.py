"""The command-center page in headless Chromium: clean load, live updates, user text shown as text."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.helpers import FAR_AWAY, IN_CELL_1, report
from tests.conftest import bearer

HOSTILE = "<img src=x onerror=alert(1)>"


@dataclass
class PageLog:
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    referers: list[str] = field(default_factory=list)  # Referer headers the page's requests carried


def watched(page: Any, client: Any) -> Any:
    """The page, with ``page.log`` gathering its console errors, dialogs, the requests it made to
    another host than the service's (data: and blob: are its own) and the Referers it sent."""
    log = PageLog()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    page.on("dialog", lambda d: log.dialogs.append(d.message))
    host = urlsplit(str(client.make_url("/"))).hostname

    def on_request(request: Any) -> None:
        if urlsplit(request.url).hostname != host and not request.url.startswith(("data:", "blob:")):
            log.outside.append(request.url)
        if "referer" in request.headers:
            log.referers.append(request.headers["referer"])

    page.on("request", on_request)
    page.log = log
    return page


@pytest.fixture
async def wall(browser, client, tokens):
    """The map page as the wall screen opens it, with what it logged and requested."""
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    yield watched(await context.new_page(), client)
    await context.close()


async def eventually(page, expression: str, seconds: float = 2.0) -> None:
    """Until ``expression`` is true in the page. Polled from outside: the page's Content-Security-Policy
    forbids eval, which wait_for_function's in-page polling needs."""
    deadline = time.monotonic() + seconds
    while not await page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds}s: {expression}")
        await asyncio.sleep(0.02)


async def open_map(page, client, token) -> None:
    await page.goto(str(client.make_url(f"/map?access_token={token}")))
    await page.wait_for_selector("#live.on", timeout=10_000)  # the feed is connected


async def test_the_page_loads_cleanly_and_requests_nothing_outside_the_host(wall, client, tokens):
    await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    await open_map(wall, client, tokens["viewer"])
    assert await wall.evaluate("window.commandCenter.cases.size") == 1
    assert await wall.locator("#counters li[data-status=dispatched] b").text_content() == "1"
    assert "access_token" not in wall.url, "the token is taken out of the address bar"
    assert wall.log.errors == [] and wall.log.outside == [] and wall.log.dialogs == []
    assert not any(tokens["viewer"] in referer for referer in wall.log.referers), "the token leaks by Referer"


async def test_a_report_appears_on_the_map_within_two_seconds(wall, client, tokens):
    await open_map(wall, client, tokens["viewer"])
    response = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    case_id = (await response.json())["case_id"]
    submitted = time.monotonic()
    await eventually(wall, f"window.commandCenter.cases.has({case_id!r})", seconds=2)
    assert time.monotonic() - submitted < 2.0
    await eventually(wall, "document.querySelector('#counters li[data-status=dispatched] b').textContent === '1'")
    assert wall.log.errors == []


async def test_a_hostile_description_renders_as_text(wall, client, tokens):
    body = report(point=FAR_AWAY, description=HOSTILE)  # outside the grid: listed as pending dispatch
    response = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
    case_no = (await response.json())["case_no"]
    await open_map(wall, client, tokens["viewer"])
    item = wall.locator("#pending-list li").first
    assert case_no in await item.text_content()
    await item.click()
    popup = wall.locator(".case-popup .reports li")
    await popup.wait_for(timeout=5_000)
    assert HOSTILE in await popup.text_content()
    assert await wall.locator(".case-popup img").count() == 0
    assert wall.log.dialogs == [] and wall.log.errors == []


async def test_a_case_placed_by_address_is_listed_and_opens_without_a_point(wall, client, tokens):
    fields = {"api_key": tokens["inspector"], "service_code": "illegal_construction", "address_string": HOSTILE}
    response = await client.post("/open311/v2/requests.json", data=fields)
    [created] = await response.json()
    await open_map(wall, client, tokens["viewer"])
    item = wall.locator("#pending-list li").first
    assert created["service_request_id"] in await item.text_content()
    assert "address only" in await item.text_content()
    await item.click()
    popup = wall.locator(".case-popup .reports li")
    await popup.wait_for(timeout=5_000)
    assert HOSTILE in await popup.text_content()
    assert wall.log.dialogs == [] and wall.log.errors == []


async def test_a_refused_token_is_named_as_such_not_as_an_unreachable_service(wall, client):
    await wall.goto(str(client.make_url("/map?access_token=gs_not-a-token")))
    await eventually(wall, "!document.getElementById('problem').hidden", seconds=5)
    problem = await wall.locator("#problem").text_content()
    assert "令牌无效" in problem and "无法连接" not in problem


async def test_a_case_turns_yellow_by_itself_and_grey_once_cancelled(wall, client, tokens, db):
    """Cancelled, it stays on the map, grey, for the rest of the city's day (tests/browser/test_wall_screen.py
    sees it leave at midnight)."""
    created = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    case_id = (await created.json())["case_id"]
    await db.execute("UPDATE cases SET warn_at = now() + interval '3 seconds' WHERE id = $1::uuid", case_id)
    await open_map(wall, client, tokens["viewer"])
    colour = f"window.commandCenter.markers.get({case_id!r}).options.fillColor"
    assert await wall.evaluate(colour) == "#22c55e"  # green
    await eventually(wall, f"{colour} === '#facc15'", seconds=10)  # yellow at its instant, with no event sent
    cancelled = await client.post(f"/api/v1/cases/{case_id}/cancel", json={}, headers=bearer(tokens["dispatcher"]))
    assert cancelled.status == 200
    await eventually(wall, f"{colour} === '#64748b'", seconds=5)  # grey
    assert await wall.evaluate(f"window.commandCenter.cases.get({case_id!r}).properties.status") == "cancelled"
    assert wall.log.errors == []


async def test_the_supervision_centers_half_shows_on_the_wall(wall, client, tokens):
    """A citizen's report waits for a receiver with an inspector out checking it (in the city's
    word for the check); voided, it leaves the map."""
    response = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["channel"]))
    ack = await response.json()
    await open_map(wall, client, tokens["viewer"])
    await eventually(wall, "document.querySelector('#counters li[data-status=reported] b').textContent === '1'")
    assert await wall.locator("#counters li[data-status=check_report] b").text_content() == "1"
    assert await wall.locator("#counters .check-label[data-kind=check_report]").text_content() == "核实"
    assert ack["case_no"] in await wall.locator("#reported-list li").first.text_content()
    assert "核实中" in await wall.locator("#reported-list li").first.text_content()
    assert "1" in await wall.locator("#checks-list li").first.text_content()
    voided = await client.post(
        f"/api/v1/cases/{ack['case_id']}/void", json={"reason": "invalid"}, headers=bearer(tokens["receiver"])
    )
    assert voided.status == 200
    await eventually(wall, "document.querySelector('#counters li[data-status=reported] b').textContent === '0'")
    assert wall.log.errors == []


async def test_the_disputes_show_on_the_wall_for_the_shift_lead(wall, client, tokens):
    """A case in arbitration and those with an open request wait in the shift lead's list; a case
    under 督办 is listed with its reply limit; a suspended case takes its own colour."""
    await open_map(wall, client, tokens["viewer"])

    async def dispatched(point):
        answer = await client.post("/api/v1/reports", json=report(point=point), headers=bearer(tokens["inspector"]))
        return (await answer.json())["case_id"]

    async def post(case_id, action, token, body):
        response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=bearer(token))
        assert response.status == 200, await response.text()

    returned, asking, supervised, extending = [await dispatched((126.6012 + 0.0011 * n, 45.6025)) for n in range(4)]
    back = {"reason": "not_our_responsibility", "note": "不属本部门"}
    await post(returned, "reject", tokens["department"], back)
    await post(returned, "dispatch", tokens["dispatcher"], {"department": "urban_management"})
    await post(returned, "reject", tokens["department"], back)
    await post(
        asking,
        "suspension",
        tokens["department"],
        {"until": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(), "reason": "legal", "note": "诉讼中"},
    )
    await post(supervised, "supervise", tokens["shift_lead"], {"level": "urge", "note": "请尽快处置", "reply_hours": 4})
    await post(extending, "extension", tokens["department"], {"reason": "材料未到"})
    await eventually(wall, "document.querySelector('#lead-count').textContent === '3'")
    lead = await wall.locator("#lead-list").text_content()
    assert "待仲裁" in lead and "挂账申请" in lead and "延期申请" in lead
    await eventually(wall, "document.querySelector('#supervised-count').textContent === '1'")
    assert "答复期限" in await wall.locator("#supervised-list li").first.text_content()
    await post(asking, "suspension/decide", tokens["shift_lead"], {"approve": True})
    await eventually(wall, "document.querySelector('#counters li[data-status=suspended] b').textContent === '1'")
    assert await wall.locator("#counters li[data-status=arbitration] b").text_content() == "1"
    assert wall.log.errors == []


async def test_the_wall_shows_the_days_closure_rates_from_the_statistics(wall, client, tokens):
    # "Today" is the city's day: a run that would straddle its midnight waits for the new day.
    from zoneinfo import ZoneInfo

    city_now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    midnight = (city_now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight - city_now < dt.timedelta(minutes=2):
        await asyncio.sleep((midnight - city_now).total_seconds() + 1)

    async def post(case_id, action, token, body):
        response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=bearer(token))
        assert response.status == 200, await response.text()

    answers = [
        await (
            await client.post(
                "/api/v1/reports",
                json=report(point=(126.6012 + 0.0011 * n, 45.6025)),
                headers=bearer(tokens["inspector"]),
            )
        ).json()
        for n in range(2)
    ]
    closed = answers[0]["case_id"]
    await post(closed, "accept", tokens["department"], {})
    await post(closed, "resolve", tokens["department"], {})
    await post(closed, "verify", tokens["inspector"], {"passed": True})
    await open_map(wall, client, tokens["viewer"])
    # Today's cohort: two filed, one closed (on time); the other is not due yet.
    await eventually(wall, "document.querySelector('#day-closure-rate').textContent === '100.0%'")
    assert await wall.locator("#day-on-time-rate").text_content() == "100.0%"
    assert wall.log.errors == []


async def test_a_case_past_its_step_limit_is_marked_in_its_list(wall, client, tokens, db):
    body = report(point=IN_CELL_1, source="leader")  # registered by a receiver: waits for one
    ack = await (await client.post("/api/v1/reports", json=body, headers=bearer(tokens["receiver"]))).json()
    # 上报→受理 is 15 minutes: this one has waited 20.
    await db.execute("UPDATE cases SET step_since = now() - interval '20 minutes' WHERE id = $1::uuid", ack["case_id"])
    await open_map(wall, client, tokens["viewer"])
    await eventually(wall, "document.querySelectorAll('#reported-list li').length === 1")
    assert await wall.locator("#reported-list li").first.get_attribute("class") == "red"
    assert wall.log.errors == []


async def test_an_inspector_with_a_check_past_its_limit_is_marked(wall, client, tokens, db):
    ack = await (
        await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["channel"]))
    ).json()  # a citizen's report: a check goes out first
    await db.execute("UPDATE tasks SET due_at = now() - interval '1 minute' WHERE case_id = $1::uuid", ack["case_id"])
    await open_map(wall, client, tokens["viewer"])
    await eventually(wall, "document.querySelectorAll('#checks-list li').length === 1")
    item = wall.locator("#checks-list li").first
    assert await item.get_attribute("class") == "red" and "超时 1" in await item.text_content()
    assert wall.log.errors == []

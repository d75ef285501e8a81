"""The workbench (工作台, SPEC §13) in headless Chromium, one person per browser context, through the
accessible names of its contract: each role's main path end to end, what a department's clerk may not
see, two browsers seeing each other's actions, people's text shown as text, and the forms' refusals."""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_STREET_2, report
from tests.browser.test_map_page import HOSTILE, watched
from tests.conftest import PASSWORD, bearer, make_token, make_user, settings_for
from tests.images import png

PEOPLE = {
    "clerk": ("department", "urban_management"),
    "street.clerk": ("department", "street_office"),
    "receiver": ("receiver", None),
    "dispatcher": ("dispatcher", None),
    "lead": ("shift_lead", None),
    "admin": ("admin", None),
    "viewer": ("viewer", None),
}


@pytest.fixture
async def server(db, db_url):
    for username, (role, department) in PEOPLE.items():
        await make_user(db, username, role, department)
    await make_user(db, "zhang.wei", "inspector", grids=["230108001001"])
    async with TestClient(TestServer(create_app(settings_for(db_url)))) as client:
        client.inspector = await make_token(db, "inspector", name="insp-token")
        yield client


@pytest.fixture
async def desk(browser, server):
    """Opens the workbench signed in as a person: ``await desk("clerk")`` is their page."""
    contexts: list[Any] = []

    async def open_as(username: str, path: str = "/desk/") -> Any:
        context = await browser.new_context(
            viewport={"width": 1440, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        contexts.append(context)
        page = watched(await context.new_page(), server)
        await page.goto(str(server.make_url("/desk/")))
        await page.get_by_label("用户名", exact=True).fill(username)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录", exact=True).click()
        await page.get_by_role("navigation", name="视图").wait_for()
        if path != "/desk/":
            await page.goto(str(server.make_url(path)))
            await page.get_by_role("navigation", name="视图").wait_for()
        return page

    yield open_as
    for context in contexts:
        await context.close()


async def reported(client, point=IN_CELL_1, **extra) -> dict[str, Any]:
    response = await client.post("/api/v1/reports", json=report(point=point, **extra), headers=bearer(client.inspector))
    assert response.status == 201, await response.text()
    return await response.json()


async def until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.03)


LOADED_IMAGES = "(selector) => [...document.querySelectorAll(selector)].every((image) => image.naturalWidth > 0)"


def refused_loads(errors: list[str]) -> list[str]:
    """The console's errors but the browser's own notes of answers that were 4xx on purpose."""
    return [e for e in errors if "the server responded with a status of 4" not in e]


async def status_of(db, case_id: str) -> str:
    return await db.fetchval("SELECT status FROM cases WHERE id = $1", __import__("uuid").UUID(case_id))


async def open_case(page, case_no: str) -> None:
    link = page.get_by_role("link", name=case_no, exact=True)
    try:
        await link.wait_for(timeout=10_000)
    except Exception as exc:  # say what the page showed instead
        shown = await page.locator("main").inner_text()
        raise AssertionError(f"no link {case_no} at {page.url}: {shown[:800]!r}; errors {page.log.errors}") from exc
    await link.click()
    await page.get_by_role("heading", name=f"{case_no} ·").wait_for()


async def action(page, name: str) -> None:
    await page.locator("#actions").get_by_role("button", name=name, exact=True).click()


async def confirm(page, name: str) -> None:
    await page.locator("#action-form").get_by_role("button", name=f"确认{name}", exact=True).click()


async def facts(page) -> str:
    return (await page.locator("#case-facts").text_content()) or ""


async def test_the_page_runs_no_inline_script_under_its_policy(server):
    response = await server.get("/desk/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page = await response.text()
    assert "<script>" not in page and all("src=" in tag for tag in page.split("<script")[1:])
    assert re.search(r"\son[a-z]+\s*=", page) is None, "no inline event handler"


async def test_a_clerk_signs_for_a_case_resolves_it_with_a_photo_and_the_map_shows_it_resolved(desk, server, db):
    made = await reported(server, description="违建 in cell 1")
    clerk = await desk("clerk")
    row = clerk.locator(f"tr[data-case='{made['case_id']}']")
    await row.wait_for()
    await open_case(clerk, made["case_no"])
    await action(clerk, "签收")
    await until(lambda: _has(clerk, "#case-facts", "处置中"))
    await action(clerk, "办结")
    await clerk.get_by_label("说明").fill("已拆除")
    after = {"name": "after.png", "mimeType": "image/png", "buffer": png(80, 60, seed=3)}
    await clerk.get_by_label("处置后照片").set_input_files([after])
    await confirm(clerk, "办结")
    await until(lambda: _has(clerk, "#case-facts", "待核查"))
    assert await status_of(db, made["case_id"]) == "resolved"
    photo = clerk.locator("#case-history img")
    await photo.wait_for()
    await until(lambda: clerk.evaluate(LOADED_IMAGES, "#case-history img"))
    wall = await clerk.context.new_page()
    await wall.goto(str(server.make_url("/map")))
    await until(
        lambda: wall.evaluate(
            f"!!(window.commandCenter && window.commandCenter.cases.get({made['case_id']!r}) &&"
            f" window.commandCenter.cases.get({made['case_id']!r}).properties.status === 'resolved')"
        ),
        seconds=10,
    )
    assert clerk.log.errors == [] and clerk.log.outside == [] and clerk.log.dialogs == []


async def live(page) -> None:
    """Until the page's live feed is connected."""
    await until(lambda: _has(page, "#live", "实时"))


async def _lacks(page, selector: str, text: str) -> bool:
    return not await _has(page, selector, text)


async def _has(page, selector: str, text: str) -> bool:
    return text in ((await page.locator(selector).text_content()) or "")


async def test_a_clerk_signs_for_several_cases_at_once_and_each_row_leaves_the_inbox(desk, server, db):
    made = [await reported(server, category=category) for category in ("illegal_construction", "outdoor_barbecue")]
    clerk = await desk("clerk")
    for case in made:
        await clerk.get_by_label(f"选择 {case['case_no']}").check()
    await clerk.get_by_role("button", name="签收所选").click()
    await until(lambda: _has(clerk, "#bulk-message", "已签收 2 件"))
    for case in made:
        assert await status_of(db, case["case_id"]) == "in_progress"
        await clerk.locator(f"tr[data-case='{case['case_id']}']").wait_for(state="detached")
    await clerk.get_by_role("link", name="在办", exact=True).click()
    for case in made:
        await clerk.get_by_role("link", name=case["case_no"], exact=True).wait_for()
    assert clerk.log.errors == [] and clerk.log.dialogs == []


async def test_a_clerk_returns_a_case_twice_and_the_shift_lead_rules_it(desk, server, db):
    made = await reported(server)
    clerk = await desk("clerk")
    await open_case(clerk, made["case_no"])
    await action(clerk, "回退")
    await clerk.get_by_label("回退原因").select_option(label="非本单位职责")
    await clerk.get_by_label("说明（必填）").fill("应由街道办处理")
    await confirm(clerk, "回退")
    await until(lambda: _has(clerk, "#action-message", "已回退"))
    assert await status_of(db, made["case_id"]) == "pending_dispatch"
    dispatcher = await desk("dispatcher")  # opens at 待派遣
    await open_case(dispatcher, made["case_no"])
    assert "被退回" in (await dispatcher.locator("#case-routing").text_content() or "")
    await action(dispatcher, "派遣")
    await dispatcher.get_by_label("派遣部门").select_option("urban_management")
    await confirm(dispatcher, "派遣")
    await until(lambda: _has(dispatcher, "#case-facts", "待签收"))
    await clerk.get_by_role("link", name="待签收", exact=True).click()
    await open_case(clerk, made["case_no"])
    await action(clerk, "回退")
    await clerk.get_by_label("说明（必填）").fill("仍非本单位职责")
    await confirm(clerk, "回退")
    await until(lambda: _has(clerk, "#action-message", "已回退"))
    assert await status_of(db, made["case_id"]) == "arbitration"
    lead = await desk("lead")
    await lead.get_by_role("link", name="待仲裁", exact=True).click()
    await open_case(lead, made["case_no"])
    await action(lead, "裁定")
    await lead.get_by_label("裁定部门").select_option("street_office")
    await lead.get_by_label("责任").select_option("dispatcher")
    await lead.get_by_label("说明（必填）").fill("属街道职责")
    await confirm(lead, "裁定")
    await until(lambda: _has(lead, "#case-facts", "待签收"))
    row = await db.fetchrow(
        "SELECT status, department, ruled_department FROM cases WHERE case_no = $1", made["case_no"]
    )
    assert tuple(row) == ("dispatched", "street_office", "street_office")
    for page in (clerk, dispatcher, lead):
        assert page.log.errors == [] and page.log.outside == [] and page.log.dialogs == []


async def test_an_extension_asked_by_a_clerk_and_approved_by_a_dispatcher_moves_the_deadline(desk, server, db):
    made = await reported(server)
    before = await db.fetchval("SELECT deadline_at FROM cases WHERE id = $1::uuid", made["case_id"])
    clerk = await desk("clerk")
    await open_case(clerk, made["case_no"])
    await action(clerk, "申请延期")
    await clerk.get_by_label("延期时长（小时，不填为一个原时限）").fill("8")
    await confirm(clerk, "申请延期")
    assert "请填写延期理由" in (await clerk.locator("#action-message").text_content() or ""), "said before sending"
    assert await db.fetchval("SELECT open_request FROM cases WHERE id = $1::uuid", made["case_id"]) is None
    await clerk.get_by_label("延期理由").fill("材料未到")
    await confirm(clerk, "申请延期")
    await until(lambda: _has(clerk, "#case-facts", "延期申请"))
    dispatcher = await desk("dispatcher")
    await dispatcher.get_by_role("link", name="申请", exact=True).click()
    await open_case(dispatcher, made["case_no"])
    await action(dispatcher, "批准")
    await confirm(dispatcher, "批准")
    await until(lambda: _has(dispatcher, "#case-facts", "原定期限"))
    after = await db.fetchval("SELECT deadline_at FROM cases WHERE id = $1::uuid", made["case_id"])
    assert after > before
    shown = await dispatcher.locator("#case-facts").text_content() or ""
    assert _minutes(after) in shown and _minutes(before) in shown, "the new deadline and the original one"
    await until(lambda: _has(clerk, "#case-facts", _minutes(after)), seconds=2)  # live, in the clerk's browser
    for page in (clerk, dispatcher):
        assert page.log.errors == [] and page.log.outside == [] and page.log.dialogs == []


def _minutes(instant) -> str:
    """An instant as the page writes it, to the minute, in the city's time zone."""
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m/%d %H:%M")


async def test_a_receiver_registers_phoned_in_reports_then_files_one_and_voids_the_other(desk, server, db):
    receiver = await desk("receiver")
    numbers = []
    for description in ("领导交办：路边违建", "领导交办：重复"):
        await receiver.get_by_role("link", name="电话登记", exact=True).click()
        await receiver.locator("#register-form").get_by_label("来源").select_option("leader")
        await receiver.locator("#register-form").get_by_label("类别").select_option(label="违法建设")
        await receiver.get_by_label("经度").fill(str(IN_CELL_1[0]))
        await receiver.get_by_label("纬度").fill(str(IN_CELL_1[1]))
        await receiver.locator("#register-form").get_by_label("描述").fill(description)
        await receiver.get_by_role("button", name="登记", exact=True).click()
        await until(lambda: _has(receiver, "#register-message", "案件编号"))
        numbers.append((await receiver.locator("#register-message a").text_content() or "").strip())
    await receiver.get_by_role("link", name="待受理", exact=True).click()
    for number in numbers:
        await receiver.get_by_role("link", name=number, exact=True).wait_for()
    await open_case(receiver, numbers[0])
    await action(receiver, "立案")
    await confirm(receiver, "立案")
    await until(lambda: _has(receiver, "#action-message", "已立案"))
    await receiver.get_by_role("link", name="待受理", exact=True).click()
    await open_case(receiver, numbers[1])
    await action(receiver, "作废")
    await receiver.get_by_label("作废原因").select_option("duplicate")
    await confirm(receiver, "作废")
    await until(lambda: _has(receiver, "#case-facts", "已作废"))
    rows = await db.fetch("SELECT case_no, status, source FROM cases ORDER BY case_no")
    assert [(r["status"], r["source"]) for r in rows] == [("dispatched", "leader"), ("voided", "leader")]
    assert receiver.log.errors == [] and receiver.log.outside == [] and receiver.log.dialogs == []


async def test_a_clerk_sees_no_case_of_another_department_through_any_page_or_link(desk, server, db):
    ours = await reported(server)
    theirs = await reported(server, point=IN_STREET_2)  # street 2: the street office's
    clerk = await desk("clerk")
    await clerk.get_by_role("link", name=ours["case_no"], exact=True).wait_for()
    for view in ("inbox", "doing", "returned", "requests", "supervised", "all"):
        await clerk.goto(str(server.make_url(f"/desk/?view={view}")))
        await until(lambda: clerk.evaluate("!!document.body.dataset.listed"))
        assert theirs["case_no"] not in (await clerk.locator("#list-view").text_content() or "")
    await clerk.goto(str(server.make_url(f"/desk/?view=all&case_no={theirs['case_no']}")))
    await clerk.locator("#list-empty").wait_for(state="visible")
    await clerk.goto(str(server.make_url("/desk/?view=all&department=street_office&status=all")))
    await clerk.get_by_role("link", name=ours["case_no"], exact=True).wait_for()  # its own, whatever it asks
    assert theirs["case_no"] not in (await clerk.locator("#list-view").text_content() or "")
    await clerk.goto(str(server.make_url(f"/desk/?case={theirs['case_id']}")))
    await until(lambda: _has(clerk, "#case-title", "案件不存在或无权查看"))
    assert theirs["case_no"] not in (await clerk.locator("main").text_content() or "")
    wall = await clerk.context.new_page()  # the map, with the clerk's session: its own cases only
    await wall.goto(str(server.make_url("/map")))
    await until(
        lambda: wall.evaluate(f"!!(window.commandCenter && window.commandCenter.cases.has({ours['case_id']!r}))")
    )
    assert not await wall.evaluate(f"window.commandCenter.cases.has({theirs['case_id']!r})")
    views = await clerk.get_by_role("navigation", name="视图").text_content() or ""
    assert "待派遣" not in views and "统计" not in views and "电话登记" not in views, "nothing it may not act on"
    assert refused_loads(clerk.log.errors) == [] and clerk.log.outside == []


async def test_two_browsers_see_each_others_actions_within_two_seconds(desk, server, db):
    made = await reported(server, point=FAR_AWAY)  # outside the grid: waits for a dispatcher
    watching = await desk("dispatcher")
    acting = await desk("lead")
    row = watching.locator(f"tr[data-case='{made['case_id']}']")
    await row.wait_for()
    await live(watching)
    await open_case(acting, made["case_no"])
    await action(acting, "派遣")
    await acting.get_by_label("派遣部门").select_option("urban_management")
    await confirm(acting, "派遣")
    acted = time.monotonic()
    await row.wait_for(state="detached", timeout=2_000)
    assert time.monotonic() - acted < 2.0
    assert await watching.locator("#cases tbody tr").count() == 0, "the list was read again, not emptied by a refusal"
    assert (await watching.locator("#filter-message").text_content() or "") == ""
    clerk = await desk("clerk")
    await until(lambda: clerk.evaluate("!!document.body.dataset.listed"))
    await live(clerk)  # the clerk's list was read before the report: only the feed can bring it
    arrived = await reported(server)
    sent = time.monotonic()
    await clerk.locator(f"tr[data-case='{arrived['case_id']}']").wait_for(timeout=2_000)
    assert time.monotonic() - sent < 2.0
    for page in (watching, acting, clerk):
        assert page.log.errors == [] and page.log.outside == [] and page.log.dialogs == []


async def test_hostile_text_renders_as_text_in_lists_case_pages_and_history(desk, server, db):
    made = await reported(server, description=HOSTILE, address=HOSTILE)
    clerk = await desk("clerk")
    await open_case(clerk, made["case_no"])
    await action(clerk, "回退")
    await clerk.get_by_label("说明（必填）").fill(HOSTILE)
    await confirm(clerk, "回退")
    await until(lambda: _has(clerk, "#case-history", HOSTILE))
    assert HOSTILE in (await clerk.locator("#case-reports").text_content() or "")
    lead = await desk("lead", f"/desk/?case={made['case_id']}")
    await until(lambda: _has(lead, "#case-history", HOSTILE))
    assert await lead.locator("img[src='x']").count() == 0 and await clerk.locator("img[src='x']").count() == 0
    for page in (clerk, lead):
        assert page.log.dialogs == [] and page.log.errors == []


async def test_refusals_are_said_in_chinese_where_the_person_acted_and_nothing_is_half_done(desk, server, db):
    made = await reported(server)
    clerk = await desk("clerk")
    await open_case(clerk, made["case_no"])
    await action(clerk, "申请挂账")
    await clerk.get_by_label("挂账至").fill("2099-01-01T10:00")  # beyond a year away: the service refuses
    await clerk.get_by_label("说明（必填）").fill("资金未到位")
    await confirm(clerk, "申请挂账")
    await until(lambda: _has(clerk, "#action-message", "挂账至有误"))
    assert await db.fetchval("SELECT open_request FROM cases WHERE id = $1::uuid", made["case_id"]) is None
    await clerk.locator("#action-form").get_by_role("button", name="取消").click()
    # Someone else cancels it while this page, cut from the feed, still offers 签收.
    await clerk.route("**/api/v1/feed*", lambda route: route.abort())
    await clerk.reload()
    await clerk.locator("#actions").get_by_role("button", name="签收", exact=True).wait_for()
    dispatcher_token = await make_token(db, "dispatcher", name="other-desk")
    await server.post(
        f"/api/v1/cases/{made['case_id']}/cancel", json={"note": "撤销"}, headers=bearer(dispatcher_token)
    )
    await action(clerk, "签收")  # the page has not caught up: the service's 409 is said
    await until(lambda: _has(clerk, "#action-message", "案件状态已变化"))
    assert await status_of(db, made["case_id"]) == "cancelled"
    await clerk.goto(str(server.make_url("/desk/?view=all")))
    await clerk.get_by_label("上报自").fill("2026-12-02")
    await clerk.get_by_label("上报至").fill("2026-12-01")
    await clerk.get_by_role("button", name="查询", exact=True).click()
    assert "不能晚于" in (await clerk.locator("#filter-message").text_content() or "")
    assert [e for e in refused_loads(clerk.log.errors) if "ERR_FAILED" not in e] == [] and clerk.log.dialogs == []


async def test_filters_are_kept_in_the_address_and_a_shared_view_opens_the_same(desk, server, db):
    barbecue = await reported(server, category="outdoor_barbecue")
    other = await reported(server)
    dispatcher = await desk("dispatcher", "/desk/?view=all")
    await dispatcher.locator("#filters").get_by_label("类别").select_option("outdoor_barbecue")
    await dispatcher.locator("#filters").get_by_label("灯", exact=True).select_option("green")
    await dispatcher.get_by_role("button", name="查询", exact=True).click()
    await dispatcher.wait_for_url("**category=outdoor_barbecue**")
    address = dispatcher.url
    assert "light=green" in address
    shared = await desk("lead", address.split(str(server.make_url("")).rstrip("/"))[1])
    for page in (dispatcher, shared):
        await page.get_by_role("link", name=barbecue["case_no"], exact=True).wait_for()
        await until(lambda page=page: _lacks(page, "#cases", other["case_no"]))
        assert await page.locator("#filters").get_by_label("类别").input_value() == "outdoor_barbecue"
    await dispatcher.go_back()  # the view before the filters, as the back button knows it
    await dispatcher.get_by_role("link", name=other["case_no"], exact=True).wait_for()
    assert dispatcher.log.errors == [] and shared.log.errors == []


async def test_the_monthly_bulletin_downloads_as_a_spreadsheet_and_a_document_that_open(desk, server, db):
    import docx
    import openpyxl

    await reported(server)
    lead = await desk("lead")
    await lead.get_by_role("link", name="统计", exact=True).click()
    await until(lambda: lead.evaluate("!!document.body.dataset.stats"), seconds=10)
    async with lead.expect_download() as spreadsheet:
        await lead.get_by_role("button", name="导出通报", exact=True).click()
    saved = await (await spreadsheet.value).path()
    workbook = openpyxl.load_workbook(io.BytesIO(await asyncio.to_thread(Path(saved).read_bytes)))
    by_department = [str(c.value) for r in workbook["按部门"].iter_rows() for c in r]
    assert "城市管理行政执法局" in by_department
    async with lead.expect_download() as document:
        await lead.get_by_role("button", name="导出通报（Word）", exact=True).click()
    text = "\n".join(p.text for p in docx.Document(await (await document.value).path()).paragraphs)
    assert "平房区" in text
    assert lead.log.errors == [] and lead.log.outside == []


async def test_the_statistics_page_shows_the_api_s_figures_its_charts_and_the_heat_map(desk, server, db):
    for _ in range(2):
        await reported(server)
    await reported(server, point=IN_STREET_2)
    lead = await desk("lead")
    await lead.get_by_role("link", name="统计", exact=True).click()
    await until(lambda: lead.evaluate("!!document.body.dataset.stats"), seconds=10)
    table = lead.get_by_role("region", name="按部门")
    urban = table.get_by_role("row").filter(has_text="城市管理")
    assert (await urban.locator("td").nth(1).text_content()) == "2", "上报: as GET /api/v1/stats counts"
    await lead.get_by_role("button", name="按街道统计").click()
    streets = lead.get_by_role("region", name="按街道").locator("tbody tr")
    await streets.first.wait_for()
    per_street = [int(await row.locator("td").nth(1).text_content() or "0") for row in await streets.all()]
    assert sorted(per_street) == [1, 2], "上报 per street: two in street 1, one in street 2"
    await until(lambda: lead.evaluate(LOADED_IMAGES, ".charts img"))
    assert await lead.locator(".charts img").count() == 3
    await until(lambda: lead.evaluate("document.querySelector('#heat').dataset.cells > 0"))
    assert await lead.locator("#heat canvas").count() > 0, "the cells drawn"
    assert lead.log.errors == [] and lead.log.outside == []


async def test_a_shift_lead_hands_a_phone_its_code_as_a_qr_code_and_the_phone_signs_in(desk, server, db, browser):
    lead = await desk("lead")
    await lead.get_by_role("link", name="设备码", exact=True).click()
    await lead.get_by_label("监督员用户名").fill("nobody.here")
    await lead.get_by_role("button", name="生成设备码").click()
    await until(lambda: _has(lead, "#device-message", "没有这个账号"))
    await lead.get_by_label("监督员用户名").fill("zhang.wei")
    await lead.get_by_role("button", name="生成设备码").click()
    await lead.locator("#device-code").wait_for()
    await until(lambda: lead.evaluate(LOADED_IMAGES, "#device-qr"))
    code = (await lead.locator("#device-code-text").text_content() or "").strip()
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = await phone.new_page()
        await page.goto(str(server.make_url(f"/app/?device_code={code}")))
        await page.get_by_label("类别").wait_for()
        assert "device_code" not in page.url, "the code leaves the address bar"
    finally:
        await phone.close()
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE kind = 'device'") == 1
    assert refused_loads(lead.log.errors) == []

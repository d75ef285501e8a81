"""巡查通 in headless Chromium at a phone's size, geolocation granted and set by the test: reporting
with photos, the outbox that survives going offline and reloading, a fix too rough to use, and
people's text shown as text (SPEC §13, through the accessible names of its contract)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import IN_CELL_1, followed, report
from tests.browser.test_map_page import HOSTILE, watched
from tests.conftest import FIXTURE_CONFIG, PASSWORD, bearer, load_config_with, make_token, make_user, settings_for
from tests.images import png

HERE = {"latitude": 45.6025, "longitude": 126.6050, "accuracy": 8}  # in the fixture grid's cell 1


@pytest.fixture
async def server(db, db_url):
    """The service, started once the inspector's account exists (its worker reads the accounts then,
    and every tenth of a second after)."""
    await make_user(db, "zhang.wei", "inspector", grids=["230108001001"])
    settings = settings_for(db_url, config_poll_s=0.1, app_fix_timeout_s=2)  # a worse fix offered after 2 s
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@pytest.fixture
async def phone(browser, server, db):
    """A phone's browser context with the app signed in as an inspector, and what it logged."""
    client = server
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        geolocation=HERE,
        permissions=["geolocation"],
        locale="zh-CN",
        service_workers="allow",
    )
    page = watched(await context.new_page(), client)
    page.context_ = context
    await page.goto(str(client.make_url("/app/")))
    await page.get_by_label("用户名").fill("zhang.wei")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.get_by_label("类别").wait_for()
    yield page
    await context.close()


async def until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.05)


async def fill_report(page, description: str, photos: int = 2, seed: int = 0, category: str = "露天烧烤") -> None:
    await until(lambda: _text(page, "定位", "±"))
    await page.get_by_label("类别").select_option(label=category)
    await page.get_by_label("描述").fill(description)
    files = [
        {"name": f"p{n}.png", "mimeType": "image/png", "buffer": png(64, 48, seed=seed * 10 + n)} for n in range(photos)
    ]
    await page.get_by_label("拍照", exact=True).set_input_files(files)
    await until(lambda: _count(page, "#photos li", photos))


async def _text(page, label: str, part: str) -> bool:
    return part in (await page.get_by_label(label, exact=True).text_content() or "")


async def _count(page, selector: str, n: int) -> bool:
    return await page.locator(selector).count() == n


async def waiting(page) -> str:
    """The number of reports waiting, as the tab to the outbox shows it."""
    return (await page.locator("#outbox-count").text_content()) or ""


async def outbox_region_says(page) -> str:
    """The number the outbox region (待上传) shows, opened from its tab."""
    await page.get_by_role("button", name="待上传").click()
    return (await page.get_by_role("region", name="待上传").locator("#outbox-waiting").text_content()) or ""


async def test_a_report_with_two_photos_arrives_with_them_and_where_they_were_taken(phone, db):
    await fill_report(phone, "夜市路边烧烤，油烟大")
    await phone.get_by_role("button", name="上报", exact=True).click()
    await until(lambda: _reports(db, 1))
    await until(lambda: _sent(phone, 1))
    row = await db.fetchrow("SELECT r.case_id, r.description, r.accuracy_m FROM reports r")
    assert row["description"] == "夜市路边烧烤，油烟大" and row["accuracy_m"] == 8
    captures = await db.fetch(
        "SELECT pc.lon, pc.lat, pc.accuracy_m, pc.taken_at, m.content_type FROM report_media rm"
        " JOIN photo_captures pc ON pc.sha256 = rm.sha256 JOIN media m ON m.sha256 = rm.sha256 ORDER BY rm.position"
    )
    assert len(captures) == 2
    for capture in captures:
        assert (capture["lon"], capture["lat"], capture["accuracy_m"]) == (126.605, 45.6025, 8)
        assert capture["taken_at"] is not None and capture["content_type"] == "image/jpeg", "re-encoded as JPEG"
    case_no = await db.fetchval("SELECT case_no FROM cases WHERE id = $1", row["case_id"])
    assert case_no in (await phone.locator("#sent-list").text_content())
    assert phone.log.errors == [] and phone.log.outside == [] and phone.log.dialogs == []


async def test_three_reports_made_offline_survive_a_reload_and_arrive_once_each(phone, db):
    await until(lambda: _sw_ready(phone))
    await phone.context_.set_offline(True)
    for n in range(3):
        await fill_report(phone, f"离线上报 {n}", photos=1, seed=n + 1)
        await phone.get_by_role("button", name="上报", exact=True).click()
        await until(lambda n=n: _waiting_is(phone, str(n + 1)))
    await phone.reload()  # offline: the service worker opens it
    await phone.get_by_label("类别").wait_for()
    assert await outbox_region_says(phone) == "3"
    assert await db.fetchval("SELECT count(*) FROM reports") == 0
    await phone.context_.set_offline(False)
    await phone.evaluate("window.dispatchEvent(new Event('online'))")
    await until(lambda: _reports(db, 3), seconds=20)
    await until(lambda: _waiting_is(phone, "0"), seconds=20)
    descriptions = sorted(r["description"] for r in await db.fetch("SELECT description FROM reports"))
    assert descriptions == ["离线上报 0", "离线上报 1", "离线上报 2"], "each once"
    assert await db.fetchval("SELECT count(*) FROM media") == 3, "and each photo"
    assert phone.log.outside == [] and phone.log.dialogs == []
    assert unexpected(phone.log.errors) == []


async def test_a_fix_rougher_than_the_threshold_is_used_only_once_accepted(browser, server, db):
    client = server
    await make_user(db, "li.na", "inspector")
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        geolocation={**HERE, "accuracy": 80},
        permissions=["geolocation"],
        service_workers="block",
    )
    page = await context.new_page()
    try:
        await page.goto(str(client.make_url("/app/")))
        await page.get_by_label("用户名").fill("li.na")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录", exact=True).click()
        await until(lambda: _text(page, "定位", "精度不足"))
        await page.get_by_label("类别").select_option(label="露天烧烤")
        await page.get_by_role("button", name="上报", exact=True).click()
        assert "定位精度不足" in (await page.locator("#report-message").text_content())
        assert await page.locator("#outbox-count").text_content() == "0", "nothing saved with the rough fix"
        accept = page.get_by_role("button", name="使用此定位（±80 米）")
        await accept.wait_for(timeout=10_000)  # offered once the app has waited for a better one
        await accept.click()
        await page.get_by_role("button", name="上报", exact=True).click()
        await until(lambda: _reports(db, 1))
        assert await db.fetchval("SELECT accuracy_m FROM reports") == 80
    finally:
        await context.close()


async def test_a_hostile_description_shows_as_text_in_the_outbox_and_my_reports(phone, db):
    await phone.context_.set_offline(True)
    await fill_report(phone, HOSTILE, photos=1)
    await phone.get_by_role("button", name="上报", exact=True).click()
    await phone.get_by_role("button", name="待上传").click()
    assert HOSTILE in (await phone.locator("#outbox-list").text_content())
    await phone.context_.set_offline(False)
    await phone.evaluate("window.dispatchEvent(new Event('online'))")
    await until(lambda: _sent(phone, 1), seconds=20)
    assert HOSTILE in (await phone.locator("#sent-list").text_content())
    assert await phone.locator("#outbox img[src='x'], #sent-list img").count() == 0
    assert phone.log.dialogs == [] and unexpected(phone.log.errors) == []


def unexpected(errors: list[str]) -> list[str]:
    """The console's errors but the browser's own notes of requests made while it was offline."""
    return [e for e in errors if "net::ERR_INTERNET_DISCONNECTED" not in e]


async def _reports(db, n: int) -> bool:
    return await db.fetchval("SELECT count(*) FROM reports") == n


async def _sent(page, n: int) -> bool:
    return await page.locator("#sent-list li").count() == n


async def _waiting_is(page, n: str) -> bool:
    return await waiting(page) == n


async def _sw_ready(page) -> bool:
    return await page.evaluate(
        "navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true)"
    )


async def test_a_sync_cut_off_after_the_photos_finishes_when_the_app_opens_again(phone, server, db):
    """The page closes while the batch call is on its way (the server gets it, the page never sees the
    answer): opened again, the outbox sends it again under its client_id and no report exists twice."""
    context = phone.context_
    reached = asyncio.Event()

    async def cut_off(route: Any) -> None:
        await route.fetch()  # the server takes it...
        reached.set()  # ...and the answer is never given to the page

    await phone.route("**/api/v1/reports/batch", cut_off)
    await fill_report(phone, "同步中断")
    await phone.get_by_role("button", name="上报", exact=True).click()
    await asyncio.wait_for(reached.wait(), 10)
    assert await db.fetchval("SELECT count(*) FROM media") == 2, "the photos went first"
    await phone.close()
    again = await context.new_page()
    await again.goto(str(server.make_url("/app/")))
    await again.get_by_role("button", name="待上传").click()
    await until(lambda: _sent(again, 1), seconds=20)
    assert await db.fetchval("SELECT count(*) FROM reports") == 1
    assert await db.fetchval("SELECT count(*) FROM media") == 2, "a photo once stored is not sent again"


async def test_a_refused_report_stays_with_the_servers_words_until_fixed(phone, server, db, tmp_path):
    """Made offline for a category the district then stops: refused, kept with the reason; the
    inspector picks another category and it goes."""
    await phone.context_.set_offline(True)
    await fill_report(phone, "类别停用", photos=1, category="工地扬尘")
    await phone.get_by_role("button", name="上报", exact=True).click()
    categories = (FIXTURE_CONFIG / "categories.toml").read_text(encoding="utf-8")
    dust = categories.index('[[category]]\ncode = "construction_dust"')
    stopped = categories[:dust] + categories[categories.index("[[category]]", dust + 1) :]
    assert "construction_dust" not in stopped
    rules = (FIXTURE_CONFIG / "routing.toml").read_text(encoding="utf-8")
    unrouted = rules[: rules.index('[[rule]]\ncategory = "construction_dust"')]
    await load_config_with(db, tmp_path / "config", {"categories.toml": stopped, "routing.toml": unrouted})
    await followed(server, lambda c: "construction_dust" not in c.categories)
    await phone.context_.set_offline(False)
    await phone.evaluate("window.dispatchEvent(new Event('online'))")
    await phone.get_by_role("button", name="待上传").click()
    refused = phone.locator("#outbox-list li.refused")
    await refused.wait_for(timeout=20_000)
    assert await refused.locator(".state").text_content() == "被退回"
    assert "类别已停用或不存在" in await refused.locator(".reason").text_content(), "the server's reason, in Chinese"
    assert await db.fetchval("SELECT count(*) FROM reports") == 0
    await refused.get_by_role("button", name="去掉照片 1").click()  # the inspector may fix more than the category
    await until(lambda: _has(phone, "#outbox-list li.refused", "0 张照片"))
    refused = phone.locator("#outbox-list li.refused")
    await refused.get_by_role("button", name="改用当前定位").click()
    await until(lambda: _has(phone, "#outbox-list li.refused", "已改用当前定位"))
    await refused.get_by_label("重新选择类别").select_option(label="暴露垃圾")
    await refused.get_by_role("button", name="重新上传").click()
    await until(lambda: _reports(db, 1), seconds=20)
    assert await db.fetchval("SELECT category FROM reports") == "exposed_garbage"
    assert await db.fetchval("SELECT count(*) FROM report_media") == 0, "the photo taken out stays out"


async def test_a_task_arrives_while_the_app_is_open_and_is_completed(phone, server, db):
    channel = await make_token(db, "channel", source="public")
    await phone.get_by_role("button", name="任务").click()
    tasks = phone.get_by_role("list", name="我的任务")
    response = await server.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(channel))
    case_no = (await response.json())["case_no"]
    await tasks.get_by_role("button", name=f"核实 · {case_no}").click(timeout=20_000)
    await phone.locator("#task-map .leaflet-interactive").first.wait_for(timeout=10_000)  # the case on its map
    await phone.get_by_label("结果").select_option("confirmed")
    await phone.get_by_label("现场照片").set_input_files(
        {"name": "site.png", "mimeType": "image/png", "buffer": png(64, 48, seed=99)}
    )
    await phone.get_by_role("button", name="提交核实结果").click()
    await until(lambda: _task_done(db), seconds=20)
    await until(lambda: _count(phone, "#task-list li", 0))
    assert unexpected(phone.log.errors) == [] and phone.log.outside == []


async def _task_done(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM tasks WHERE status = 'done'") == 1


async def test_a_phone_signs_in_with_a_device_code_and_is_told_why_a_photo_or_a_check_is_refused(browser, server, db):
    from grid_service.db import users as db_users
    from grid_service.sessions import hash_device_code, new_device_code

    code = new_device_code()
    await db_users.insert_device_code(db, username="zhang.wei", code_hash=hash_device_code(code), seconds=600)
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, geolocation=HERE, permissions=["geolocation"]
    )
    page = await context.new_page()
    try:
        await page.goto(str(server.make_url("/app/")))
        await page.get_by_label("设备码").fill("wrong-code")
        await page.get_by_role("button", name="用设备码登录").click()
        await until(lambda: _has(page, "#sign-in-message", "设备码格式不正确"))
        await page.get_by_label("设备码").fill("ABCD-EFGH")
        await page.get_by_role("button", name="用设备码登录").click()
        await until(lambda: _has(page, "#sign-in-message", "用户名、密码或设备码不正确"))
        await page.get_by_label("设备码").fill(code)
        await page.get_by_role("button", name="用设备码登录").click()
        await page.get_by_label("类别").wait_for()
        # A file that is no photo is refused at once, in Chinese, and nothing is kept of it.
        await page.get_by_label("拍照", exact=True).set_input_files(
            {"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture at all"}
        )
        await until(lambda: _has(page, "#report-message", "这不是可识别的照片"))
        assert await page.locator("#photos li").count() == 0
        # A check made far from the case is refused with the reason, and the task stays.
        channel = await make_token(db, "channel", source="public")
        far_case = (IN_CELL_1[0] + 0.004, IN_CELL_1[1])  # about 300 m east of where the phone is
        answer = await server.post("/api/v1/reports", json=report(point=far_case), headers=bearer(channel))
        case_no = (await answer.json())["case_no"]
        await page.get_by_role("button", name="任务").click()
        await page.get_by_role("button", name=f"核实 · {case_no}").click(timeout=20_000)
        await page.get_by_label("现场照片").set_input_files(
            {"name": "site.png", "mimeType": "image/png", "buffer": png(64, 48, seed=5)}
        )
        await page.get_by_role("button", name="提交核实结果").click()
        await until(lambda: _has(page, "#task-message", "距离案件位置太远"))
        assert await db.fetchval("SELECT count(*) FROM tasks WHERE status = 'open'") == 1
    finally:
        await context.close()


async def _has(page, selector: str, part: str) -> bool:
    return part in (await page.locator(selector).text_content() or "")


async def test_my_reports_show_the_status_the_case_has_now(phone, server, db):
    await fill_report(phone, "状态跟踪", photos=1)
    await phone.get_by_role("button", name="上报", exact=True).click()
    await until(lambda: _sent(phone, 1))
    case_id = await db.fetchval("SELECT case_id::text FROM reports")
    clerk = await make_token(db, "department", "urban_management")
    accepted = await server.post(f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(clerk))
    assert accepted.status == 200
    await phone.reload()
    await phone.get_by_role("button", name="待上传").click()
    await until(lambda: _has(phone, "#sent-list", "处置中"), seconds=15)


async def test_a_category_with_conditions_asks_which_one_and_files_under_it(phone, db):
    await until(lambda: _text(phone, "定位", "±"))
    assert not await phone.get_by_label("立案条件").is_visible(), "露天烧烤 has none"
    await phone.get_by_label("类别").select_option(label="违法建设")
    conditions = phone.get_by_label("立案条件")
    assert await conditions.input_value() == "demolish", "the category's default first"
    await conditions.select_option(label="正在施工的违法建设")
    await phone.get_by_role("button", name="上报", exact=True).click()
    await until(lambda: _reports(db, 1))
    assert await db.fetchval("SELECT condition FROM cases") == "stop_work"


async def test_with_no_fix_at_all_the_point_is_placed_on_the_map(browser, server, db):
    await make_user(db, "wang.qiang", "inspector")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
    page = await context.new_page()  # no geolocation permission: the phone never gets a fix
    try:
        await page.goto(str(server.make_url("/app/")))
        await page.get_by_label("用户名").fill("wang.qiang")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录", exact=True).click()
        await page.get_by_label("类别").select_option(label="露天烧烤")
        await page.get_by_role("button", name="在地图上选点").click(timeout=10_000)
        await page.locator("#map.leaflet-container").wait_for()
        await page.locator("#map").click()  # its middle: the point the map is centred on
        await until(lambda: _text(page, "定位", "已在地图上选点"))
        await page.get_by_role("button", name="上报", exact=True).click()
        await until(lambda: _reports(db, 1))
        row = await db.fetchrow("SELECT lon, lat, accuracy_m FROM reports")
        assert row["accuracy_m"] is None, "a point placed by hand claims no accuracy"
        bounds = (await (await server.get("/app/settings.json")).json())["bounds"]
        middle = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)  # the map opens on the grid
        assert abs(row["lon"] - middle[0]) < 0.002 and abs(row["lat"] - middle[1]) < 0.002, (row, middle)
    finally:
        await context.close()


async def test_a_server_that_fails_or_drops_the_line_is_tried_again_until_the_report_is_in(phone, db):
    """The first photo upload answers 503 (a server restarting), the first batch call loses its line:
    the item waits, is sent again after its backoff, and arrives once."""
    failures = {"media": 1, "batch": 1}

    async def flaky(route: Any) -> None:
        kind = "batch" if route.request.url.endswith("/reports/batch") else "media"
        if failures[kind]:
            failures[kind] -= 1
            if kind == "media":
                await route.fulfill(
                    status=503, json={"error": {"code": "database_unavailable", "message": "x", "details": []}}
                )
            else:
                await route.abort("connectionreset")
            return
        await route.continue_()

    await phone.route("**/api/v1/media?*", flaky)
    await phone.route("**/api/v1/reports/batch", flaky)
    await fill_report(phone, "服务器重启中", photos=1)
    await phone.get_by_role("button", name="上报", exact=True).click()
    await phone.get_by_role("button", name="待上传").click()
    await until(lambda: _has(phone, "#outbox-list", "稍后自动重试"))
    await until(lambda: _reports(db, 1), seconds=20)
    await until(lambda: _sent(phone, 1), seconds=10)
    assert failures == {"media": 0, "batch": 0}
    assert (
        await db.fetchval("SELECT count(*) FROM reports") == 1 and await db.fetchval("SELECT count(*) FROM media") == 1
    )


async def test_a_report_waits_for_its_own_inspector_when_another_signs_in_on_the_phone(phone, server, db):
    await make_user(db, "li.na2", "inspector")
    await phone.context_.set_offline(True)
    await fill_report(phone, "张伟的上报", photos=1)
    await phone.get_by_role("button", name="上报", exact=True).click()
    await phone.get_by_role("button", name="退出").click()
    await phone.context_.set_offline(False)
    await phone.get_by_label("用户名").fill("li.na2")
    await phone.get_by_label("密码").fill(PASSWORD)
    await phone.get_by_role("button", name="登录", exact=True).click()
    await phone.get_by_label("类别").wait_for()
    await phone.wait_for_timeout(1500)
    assert await db.fetchval("SELECT count(*) FROM reports") == 0, "not sent under another person's name"
    assert await waiting(phone) == "0", "nor shown to them"
    await phone.get_by_role("button", name="退出").click()
    await phone.get_by_label("用户名").fill("zhang.wei")
    await phone.get_by_label("密码").fill(PASSWORD)
    await phone.get_by_role("button", name="登录", exact=True).click()
    await until(lambda: _reports(db, 1), seconds=20)
    reporter = await db.fetchval("SELECT t.name FROM reports r JOIN api_tokens t ON t.id = r.token_id")
    assert reporter == "zhang.wei"


async def test_a_problem_fixed_on_the_spot_goes_with_its_before_and_after_photos(phone, db):
    await fill_report(phone, "小广告已清除", photos=1)
    await phone.get_by_label("现场已处置（自处置）").check()
    await phone.get_by_role("button", name="上报", exact=True).click()
    assert "自处置需要处置前和处置后的照片" in await phone.locator("#report-message").text_content()
    await phone.get_by_label("处置后拍照").set_input_files(
        {"name": "after.png", "mimeType": "image/png", "buffer": png(64, 48, seed=77)}
    )
    await phone.get_by_role("button", name="上报", exact=True).click()
    await until(lambda: _reports(db, 1))
    case = await db.fetchrow("SELECT status, resolution FROM cases")
    assert (case["status"], case["resolution"]) == ("closed", "self_handled")
    assert (
        await db.fetchval("SELECT count(*) FROM case_media") + await db.fetchval("SELECT count(*) FROM report_media")
        >= 2
    )


async def test_the_server_restarting_in_the_middle_of_a_sync_loses_and_doubles_nothing(browser, db, db_url):
    """Two reports wait; the sync starts; as the first batch call goes out the server stops; a new
    one starts on the same port: the outbox finishes, each report once, each photo once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await make_user(db, "restart.inspector", "inspector")

    def started() -> TestServer:
        return TestServer(create_app(settings_for(db_url, app_fix_timeout_s=2)), port=port)

    first = started()
    await first.start_server()
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, geolocation=HERE, permissions=["geolocation"]
    )
    page = await context.new_page()
    second = None
    try:
        await page.goto(f"http://127.0.0.1:{port}/app/")
        await page.get_by_label("用户名").fill("restart.inspector")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录", exact=True).click()
        await page.get_by_label("类别").wait_for()
        await context.set_offline(True)
        for n in range(2):
            await fill_report(page, f"重启 {n}", photos=1, seed=40 + n)
            await page.get_by_role("button", name="上报", exact=True).click()
            await until(lambda n=n: _waiting_is(page, str(n + 1)))
        stopped = asyncio.Event()

        async def stop_the_server(route: Any) -> None:
            if not stopped.is_set():
                stopped.set()
                await first.close()  # the service goes away with the call on its way
            await route.continue_()

        await page.route("**/api/v1/reports/batch", stop_the_server)
        await context.set_offline(False)
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await asyncio.wait_for(stopped.wait(), 15)
        second = started()
        await second.start_server()
        await until(lambda: _reports(db, 2), seconds=30)
        await until(lambda: _waiting_is(page, "0"), seconds=15)
        assert await db.fetchval("SELECT count(*) FROM reports") == 2
        assert await db.fetchval("SELECT count(*) FROM media") == 2
    finally:
        await context.close()
        if second is not None:
            await second.close()
        await first.close()


async def test_the_map_outlines_my_cells_and_shows_the_open_cases_around_me(phone, server, db):
    channel = await make_token(db, "channel", source="public")
    await server.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(channel))
    await until(lambda: _text(phone, "定位", "±"))
    await phone.get_by_role("button", name="地图").click()
    await until(lambda: _has(phone, "#map-message", "附近未结案件 1 件"))
    mine = phone.locator("#map path.leaflet-interactive[stroke-width='2']")  # my cells, outlined
    await until(lambda: _at_least(mine, 1))
    assert unexpected(phone.log.errors) == [] and phone.log.outside == []


async def _at_least(locator, n: int) -> bool:
    return await locator.count() >= n


async def test_a_large_photo_is_scaled_to_1600_px_and_at_most_five_are_taken(phone, db):
    import io

    from PIL import Image

    big = io.BytesIO()
    Image.new("RGB", (3200, 2400), "#3366aa").save(big, format="PNG")
    await until(lambda: _text(phone, "定位", "±"))
    await phone.get_by_label("类别").select_option(label="露天烧烤")
    files = [{"name": f"b{n}.png", "mimeType": "image/png", "buffer": big.getvalue()} for n in range(6)]
    await phone.get_by_label("拍照", exact=True).set_input_files(files)
    await until(lambda: _has(phone, "#report-message", "最多 5 张照片"), seconds=20)
    assert await phone.locator("#photos li").count() == 5
    await phone.get_by_role("button", name="上报", exact=True).click()
    await until(lambda: _reports(db, 1), seconds=20)
    stored = await db.fetchval("SELECT data FROM media LIMIT 1")
    assert Image.open(io.BytesIO(stored)).size == (1600, 1200), "the longer side at 1600 px, as JPEG"

"""The workbench (工作台, SPEC §13) in headless Chromium, one person per browser context, through the
accessible names of its contract: each role's main path end to end, what a department's clerk may not
see, two browsers seeing each other's actions, people's text shown as text, and the forms' refusals."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import IN_CELL_1, report
from tests.browser.test_map_page import watched
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
    await page.get_by_role("link", name=case_no, exact=True).click()
    await page.get_by_role("heading", name=f"{case_no} ·").wait_for()


async def action(page, name: str) -> None:
    await page.locator("#actions").get_by_role("button", name=name, exact=True).click()


async def confirm(page, name: str) -> None:
    await page.locator("#action-form").get_by_role("button", name=f"确认{name}", exact=True).click()


async def facts(page) -> str:
    return (await page.locator("#case-facts").text_content()) or ""


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


async def _has(page, selector: str, text: str) -> bool:
    return text in ((await page.locator(selector).text_content()) or "")

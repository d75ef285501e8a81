"""The workbench makes a phone's one-time sign-in code (SPEC §13): who may, for which accounts, the
code signing a phone in once, and the QR code holding the address the phone opens."""

import base64
import datetime as dt
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.db import users as db_users
from grid_service.schemas import Role
from grid_service.sessions import SESSION_COOKIE
from tests.api.test_sessions import person, sign_in
from tests.conftest import bearer, make_token, make_user, settings_for

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def inspector(db):
    return await make_user(db, "li.na", "inspector", grids=["230108001001"])


async def make_code(client, username, headers):
    response = await client.post(f"/api/v1/users/{username}/device-code", headers=headers)
    return response, await response.json()


async def codes_made(db):
    return await db.fetchval("SELECT count(*) FROM device_codes")


def modules(svg: str) -> list[list[bool]]:
    """The dark modules the SVG draws, read back from its path (segno draws each row's runs of dark
    modules as horizontal strokes through the middle of the row), quiet zone left out."""
    root = ET.fromstring(svg)  # noqa: S314 (the service's own answer: what is under test)
    size = int(root.get("width")) // 6  # the scale the service draws at
    grid = [[False] * size for _ in range(size)]
    (dark,) = [p for p in root.iter(f"{SVG}path") if p.get("stroke")]
    x = y = 0.0
    for command, numbers in re.findall(r"([MmHh])([-\d.\s]+)", dark.get("d")):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:  # h: a run of dark modules on row y
            for column in range(int(x), int(x + values[0])):
                grid[int(y)][column] = True
            x += values[0]
    return [row[4:-4] for row in grid[4:-4]]


async def test_an_admin_makes_a_code_that_signs_a_phone_in_exactly_once(client, db, inspector):
    admin = bearer(await make_token(db, "admin"))
    response, body = await make_code(client, inspector, admin)
    assert response.status == 201, body
    assert response.headers["Cache-Control"] == "no-store", "a code is shown once, never kept by a cache"
    code = body["code"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code) and body["username"] == inspector
    stored = await db.fetchrow("SELECT user_id, expires_at, used_at FROM device_codes")
    assert dt.datetime.fromisoformat(body["expires_at"]) == stored["expires_at"] and stored["used_at"] is None
    assert stored["user_id"] == await db.fetchval("SELECT id FROM users WHERE username = $1", inspector)
    assert body["sign_in_url"] == f"/app/?device_code={code}"
    assert body["qr_url"] == f"http://{client.host}:{client.port}/app/?device_code={code}"
    # The phone opens the address and signs in with the code it carries; once.
    carried = parse_qs(urlsplit(body["qr_url"]).query)["device_code"][0]
    phone = await client.post("/api/v1/session", json={"device_code": carried})
    signed_in = await phone.json()
    assert phone.status == 200 and signed_in["kind"] == "device", signed_in
    assert signed_in["user"]["username"] == inspector
    client.session.cookie_jar.clear()
    again = await client.post("/api/v1/session", json={"device_code": carried})
    assert again.status == 401 and (await again.json())["error"]["code"] == "sign_in_failed"


async def test_a_shift_lead_signed_in_makes_a_code_only_with_the_csrf_token(client, db, inspector):
    lead = await make_user(db, "wang.zhiban", "shift_lead")
    reads, writes = person(*await sign_in(client, lead))
    refused, body = await make_code(client, inspector, reads)
    assert refused.status == 403 and body["error"]["code"] == "csrf_failed", body
    assert await codes_made(db) == 0, "a write refused makes nothing"
    response, body = await make_code(client, inspector, writes)
    assert response.status == 201, body
    assert await codes_made(db) == 1
    phone = await client.post("/api/v1/session", json={"device_code": body["code"]})
    assert phone.status == 200 and SESSION_COOKIE in phone.cookies


async def test_no_other_role_makes_a_code(client, db, inspector):
    for role in Role:
        if role in (Role.ADMIN, Role.SHIFT_LEAD):
            continue
        token = await make_token(
            db,
            role.value,
            "urban_management" if role is Role.DEPARTMENT else None,
            source="public" if role is Role.CHANNEL else None,
        )
        response, body = await make_code(client, inspector, bearer(token))
        assert response.status == 403 and body["error"]["code"] == "forbidden", (role, body)
    assert await codes_made(db) == 0


async def test_an_unknown_account_is_404_and_a_disabled_or_other_roles_account_409(client, db, inspector):
    admin = bearer(await make_token(db, "admin"))
    for username in ("nobody", "not a name", "x" * 65):
        response, body = await make_code(client, username, admin)
        assert response.status == 404 and body["error"]["code"] == "unknown_user", (username, body)
        assert set(body["error"]) == {"code", "message", "details"}
    dispatcher = await make_user(db, "zhao.paiqian", "dispatcher")
    response, body = await make_code(client, dispatcher, admin)
    assert response.status == 409 and body["error"]["code"] == "not_an_inspector", body
    assert "dispatcher" in body["error"]["message"]
    await db_users.disable_user(db, username=inspector)
    response, body = await make_code(client, inspector, admin)
    assert response.status == 409 and body["error"]["code"] == "account_disabled", body
    assert body["error"]["message"] == "the account 'li.na' is disabled"
    assert await codes_made(db) == 0


async def test_the_qr_code_holds_the_sign_in_address_and_is_an_image_with_nothing_that_runs(client, db, inspector):
    response, body = await make_code(client, inspector, bearer(await make_token(db, "admin")))
    assert response.status == 201, body
    svg = body["qr_svg"]
    encoded = segno.make_qr(body["qr_url"], error="m")
    assert modules(svg) == [[bool(v) for v in row] for row in encoded.matrix], "the QR code of the sign-in address"
    head, _, data = body["qr_data_url"].partition(",")
    assert head == "data:image/svg+xml;base64" and base64.b64decode(data, validate=True).decode() == svg
    root = ET.fromstring(svg)  # noqa: S314 (as above)
    assert {element.tag for element in root.iter()} <= {f"{SVG}{tag}" for tag in ("svg", "title", "g", "path")}
    attributes = {name.lower() for element in root.iter() for name in element.attrib}
    assert not [name for name in attributes if name.startswith("on") or "href" in name], attributes
    assert "<script" not in svg.lower() and "javascript:" not in svg.lower()


async def test_behind_a_proxy_the_qr_code_holds_the_address_the_desk_used(db_url, db, inspector):
    admin = bearer(await make_token(db, "admin"))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "grid.example.org, 10.0.0.2:8080"}
    async with TestClient(TestServer(create_app(settings_for(db_url, behind_proxy=True)))) as proxied:
        response, body = await make_code(proxied, inspector, {**admin, **forwarded})
        assert response.status == 201, body
        assert body["qr_url"] == f"https://grid.example.org/app/?device_code={body['code']}"
        refused, error = await make_code(proxied, inspector, {**admin, "X-Forwarded-Host": "a.example/<svg onload=x>"})
        assert refused.status == 400 and error["error"]["code"] == "bad_host", error
    assert await codes_made(db) == 1, "a request refused for its host makes no code"
    async with TestClient(TestServer(create_app(settings_for(db_url)))) as direct:
        response, body = await make_code(direct, inspector, {**admin, **forwarded})
        assert response.status == 201, body
        assert body["qr_url"] == f"http://{direct.host}:{direct.port}/app/?device_code={body['code']}", (
            "not behind a proxy, forwarded headers are anyone's to send"
        )

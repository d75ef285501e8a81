import re
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.db import tokens as db_tokens
from grid_service.routes import ROUTES
from grid_service.schemas import Role
from tests.api.helpers import report
from tests.conftest import bearer, settings_for

PROTECTED = [r for r in ROUTES if r.roles is not None]
ROLE_TOKENS = {
    Role.INSPECTOR: "inspector",
    Role.DEPARTMENT: "department",
    Role.DISPATCHER: "dispatcher",
    Role.VIEWER: "viewer",
    Role.ADMIN: "admin",
    Role.RECEIVER: "receiver",
    Role.SHIFT_LEAD: "shift_lead",
    Role.CHANNEL: "channel",
}


def test_the_role_matrix_covers_every_role():
    assert set(ROLE_TOKENS) == set(Role)


async def call(client, route, headers):
    samples = {"case_id": str(uuid.uuid4()), "media_id": "0" * 64, "task_id": str(uuid.uuid4()), "username": "nobody"}
    path = re.sub(r"{(\w+)}", lambda m: samples[m.group(1)], route.path)
    if route.method == "GET":
        return await client.get(path, headers=headers, params={"lon": "0", "lat": "0"} if "locate" in path else None)
    return await client.request(route.method, path, json={}, headers=headers)


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.name)
async def test_every_route_follows_the_role_table(client, tokens, route):
    for role, token_name in ROLE_TOKENS.items():
        response = await call(client, route, bearer(tokens[token_name]))
        if role in route.roles:
            assert response.status not in (401, 403), (role, await response.text())
        else:
            assert response.status == 403, role
            assert (await response.json())["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.name)
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "gs_token"])
async def test_missing_or_unknown_tokens_are_401(client, route, header):
    response = await call(client, route, {"Authorization": header} if header else {})
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthenticated"


async def test_a_revoked_token_stops_working(client, tokens, db):
    assert (await client.get("/api/v1/categories", headers=bearer(tokens["viewer"]))).status == 200
    name = await db.fetchval("SELECT name FROM api_tokens WHERE role = 'viewer'")
    assert await db_tokens.revoke_token(db, name=name)
    assert (await client.get("/api/v1/categories", headers=bearer(tokens["viewer"]))).status == 401


async def test_a_route_without_a_rule_is_refused_even_to_admin(db_url, tokens):
    app = create_app(settings_for(db_url))

    async def secret(request: web.Request) -> web.Response:
        return web.Response(text="should not be reachable")

    app.router.add_get("/api/v1/unruled", secret, name="unruled")
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get("/api/v1/unruled", headers=bearer(tokens["admin"]))
        assert response.status == 403
    finally:
        await client.close()


async def test_health_endpoints_need_no_token(client):
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200


async def test_a_department_sees_its_own_cases_and_not_another_departments(client, tokens):
    submitted = await client.post(
        "/api/v1/reports", json=report("illegal_construction"), headers=bearer(tokens["inspector"])
    )
    case_id = (await submitted.json())["case_id"]
    own = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["department"]))
    other = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["department:street_office"]))
    assert own.status == 200 and (await own.json())["department"]["code"] == "urban_management"
    assert other.status == 404 and (await other.json())["error"]["code"] == "not_found"

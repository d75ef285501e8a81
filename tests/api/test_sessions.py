"""People sign in (SPEC §13): the session cookie, CSRF on every write it authenticates, device
codes, signing out, disabled accounts and throttled guessing, through the real HTTP stack."""

import asyncio
import datetime as dt

import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.db import users as db_users
from grid_service.sessions import SESSION_COOKIE, hash_device_code, new_device_code
from tests.api.helpers import IN_CELL_1, report
from tests.conftest import PASSWORD, bearer, make_user, settings_for


async def sign_in(client, username, password=PASSWORD, **headers):
    response = await client.post("/api/v1/session", json={"username": username, "password": password}, headers=headers)
    client.session.cookie_jar.clear()  # each test sends the cookie it means to (person()), never the jar's
    return response, await response.json()


def person(response, body):
    """The headers a signed-in person sends: the cookie, and on writes the CSRF token."""
    cookie = {"Cookie": f"{SESSION_COOKIE}={response.cookies[SESSION_COOKIE].value}"}
    return cookie, {**cookie, "X-CSRF-Token": body["csrf_token"]}


@pytest.fixture
async def inspector(db):
    return await make_user(db, "zhang.wei", "inspector", grids=["230108001001"])


async def test_a_person_signs_in_reads_and_writes_with_the_csrf_token(client, db, inspector):
    response, body = await sign_in(client, inspector)
    assert response.status == 200, body
    assert body["user"] == {
        "username": "zhang.wei",
        "display_name": "zhang.wei 同志",
        "role": "inspector",
        "department": None,
        "grids": ["230108001001"],
    }
    assert body["kind"] == "password" and len(body["csrf_token"]) >= 32
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"] and not cookie["max-age"], "over plain HTTP; a desk's session ends with the browser"
    reads, writes = person(response, body)
    assert (await client.get("/api/v1/cases", headers=reads)).status == 200
    again = await client.get("/api/v1/session", headers=reads)
    assert again.status == 200 and (await again.json())["user"]["username"] == "zhang.wei"
    assert again.headers["Cache-Control"] == "no-store"
    # A write without the token is refused and leaves nothing; with it, it is the person's.
    refused = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=reads)
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf_failed"
    wrong = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers={**reads, "X-CSRF-Token": "x"})
    assert wrong.status == 403
    assert await db.fetchval("SELECT count(*) FROM reports") == 0
    made = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=writes)
    assert made.status == 201, await made.text()
    case_id = (await made.json())["case_id"]
    actor = await db.fetchval("SELECT actor FROM events WHERE case_id = $1::uuid ORDER BY seq LIMIT 1", case_id)
    assert actor == "inspector:zhang.wei"
    reporter = await db.fetchval(
        "SELECT t.name FROM reports r JOIN api_tokens t ON t.id = r.token_id WHERE r.case_id = $1::uuid", case_id
    )
    assert reporter == "zhang.wei", "the account's own token names it in the figures of the people of the loop"


async def test_a_wrong_password_and_an_unknown_user_are_refused_alike(client, inspector):
    for username, password in ((inspector, "not the password"), ("nobody", PASSWORD)):
        response, body = await sign_in(client, username, password)
        assert response.status == 401 and body["error"]["code"] == "sign_in_failed", body
        assert body["error"]["message"] == "wrong username or password"
        assert SESSION_COOKIE not in response.cookies


async def test_the_sixth_failure_in_15_minutes_is_429_even_with_the_right_password(db, db_url, inspector):
    async with TestClient(TestServer(create_app(settings_for(db_url, behind_proxy=True)))) as client:
        for n in range(5):  # from five addresses: the username's count
            response, _ = await sign_in(client, inspector, "wrong", **{"X-Forwarded-For": f"10.0.0.{n}"})
            assert response.status == 401
        response, body = await sign_in(client, inspector, **{"X-Forwarded-For": "10.0.0.9"})
        assert response.status == 429 and body["error"]["code"] == "sign_in_throttled", body
        assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
        # One address guessing many usernames is held back as well.
        for n in range(5):
            await sign_in(client, f"user{n}", "wrong", **{"X-Forwarded-For": "10.0.1.1"})
        await make_user(db, "li.na", "viewer")
        response, _ = await sign_in(client, "li.na", **{"X-Forwarded-For": "10.0.1.1"})
        assert response.status == 429
        response, _ = await sign_in(client, "li.na", **{"X-Forwarded-For": "10.0.1.2"})
        assert response.status == 200, "from another address the same person signs in"
        # The window passes: a failure 15 minutes old no longer counts.
        await db.execute("UPDATE sign_in_failures SET at = at - interval '15 minutes 1 second'")
        response, _ = await sign_in(client, inspector, **{"X-Forwarded-For": "10.0.0.9"})
        assert response.status == 200


async def test_guesses_at_once_on_two_workers_check_five_passwords_at_most(db, db_url, inspector):
    """Eight at once: those that find another being checked are 429 at once (no connection waits);
    the others are checked, and however the race goes no more than five ever are."""
    apps = [TestClient(TestServer(create_app(settings_for(db_url)))) for _ in range(2)]
    for app in apps:
        await app.start_server()
    try:
        answers = await asyncio.gather(*(sign_in(apps[n % 2], inspector, f"guess {n}") for n in range(8)))
    finally:
        for app in apps:
            await app.close()
    statuses = sorted(r.status for r, _ in answers)
    checked = statuses.count(401)
    assert 1 <= checked <= 5 and statuses == [401] * checked + [429] * (8 - checked), statuses
    assert await db.fetchval("SELECT count(*) FROM sign_in_failures") == checked, "each check recorded once"
    # one after another, as many as the window allows, and no more
    async with TestClient(TestServer(create_app(settings_for(db_url)))) as client:
        for _ in range(5 - checked):
            assert (await sign_in(client, inspector, "again"))[0].status == 401
        assert (await sign_in(client, inspector, "and again"))[0].status == 429
    assert await db.fetchval("SELECT count(*) FROM sign_in_failures") == 5


async def test_signing_out_ends_the_session_and_needs_the_csrf_token(client, inspector):
    response, body = await sign_in(client, inspector)
    reads, writes = person(response, body)
    refused = await client.delete("/api/v1/session", headers=reads)
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf_failed"
    out = await client.delete("/api/v1/session", headers=writes)
    assert out.status == 204 and out.cookies[SESSION_COOKIE].value == ""
    after = await client.get("/api/v1/cases", headers=reads)
    assert after.status == 401 and (await after.json())["error"]["code"] == "session_ended"


async def test_disabling_an_account_ends_its_sessions(client, db, inspector):
    response, body = await sign_in(client, inspector)
    reads, _ = person(response, body)
    assert (await client.get("/api/v1/cases", headers=reads)).status == 200
    assert await db_users.disable_user(db, username=inspector)
    # token_cache_s is 0 in the tests; in service, within that many seconds
    assert (await client.get("/api/v1/cases", headers=reads)).status == 401
    again, _ = await sign_in(client, inspector)
    assert again.status == 401
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 0
    assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM api_tokens WHERE name = $1", inspector)


async def test_a_phone_signs_in_once_with_a_device_code(client, db, inspector):
    code = new_device_code()
    assert await db_users.insert_device_code(db, username=inspector, code_hash=hash_device_code(code), seconds=600)
    response = await client.post("/api/v1/session", json={"device_code": code.lower().replace("-", "")})
    body = await response.json()
    assert response.status == 200 and body["kind"] == "device", body
    assert int(response.cookies[SESSION_COOKIE]["max-age"]) == 90 * 24 * 3600, "a phone keeps its session"
    assert dt.datetime.fromisoformat(body["expires_at"]) > dt.datetime.now(dt.UTC) + dt.timedelta(days=89)
    used = await client.post("/api/v1/session", json={"device_code": code})
    assert used.status == 401 and (await used.json())["error"]["code"] == "sign_in_failed", "once only"
    stale = new_device_code()
    await db_users.insert_device_code(db, username=inspector, code_hash=hash_device_code(stale), seconds=600)
    await db.execute("UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    assert (await client.post("/api/v1/session", json={"device_code": stale})).status == 401


async def test_the_cookie_is_secure_behind_https(db_url, inspector):
    async with TestClient(TestServer(create_app(settings_for(db_url, behind_proxy=True)))) as client:
        response, _ = await sign_in(client, inspector, **{"X-Forwarded-Proto": "https"})
        assert response.status == 200 and response.cookies[SESSION_COOKIE]["secure"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "a"},
        {"password": "x"},
        {"username": "a", "password": "x", "device_code": "ABCD-EFGH"},
        {"device_code": "no"},
        {"username": "bad name", "password": "x"},
        {"username": "a", "password": "x", "extra": 1},
        {},
    ],
)
async def test_a_sign_in_that_is_neither_way_is_422(client, db, body):
    response = await client.post("/api/v1/session", json=body)
    assert response.status == 422, await response.text()
    assert await db.fetchval("SELECT count(*) FROM sessions") == 0
    assert await db.fetchval("SELECT count(*) FROM sign_in_failures") == 0


async def test_a_bearer_token_has_no_session(client, tokens):
    for method in ("GET", "DELETE"):
        response = await client.request(method, "/api/v1/session", headers=bearer(tokens["viewer"]))
        assert response.status == 400 and (await response.json())["error"]["code"] == "no_session"
    assert (await client.get("/api/v1/session")).status == 401


async def test_a_new_password_ends_every_session_of_the_account(client, db, inspector):
    response, body = await sign_in(client, inspector)
    reads, _ = person(response, body)
    from grid_service.accounts import hash_password

    assert await db_users.set_password(db, username=inspector, password_hash=hash_password("a new one, long"))
    assert (await client.get("/api/v1/cases", headers=reads)).status == 401, "a reset after a leak shuts the door"
    assert (await sign_in(client, inspector, "a new one, long"))[0].status == 200

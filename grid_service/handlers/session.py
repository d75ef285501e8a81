"""POST, GET and DELETE /api/v1/session: signing in and out (SPEC §13)."""

from __future__ import annotations

from aiohttp import web

from grid_service import keys
from grid_service.db import users as db_users
from grid_service.errors import MalformedRequest
from grid_service.handlers.common import connection, json_response, read_json, validate
from grid_service.schemas import SignIn
from grid_service.sessions import (
    DEVICE_SESSION_S,
    SESSION_COOKIE,
    SignedIn,
    sign_in_with_device_code,
    sign_in_with_password,
)


async def sign_in(request: web.Request) -> web.Response:
    body = validate(SignIn, await read_json(request))
    pool, settings = request.app[keys.POOL], request.app[keys.SETTINGS]
    address = client_address(request)
    if body.device_code is not None:
        secret, signed_in = await sign_in_with_device_code(
            pool, code=body.device_code, address=address, timeout=settings.db_timeout_s
        )
    else:
        assert body.username is not None and body.password is not None  # SignIn's rule
        secret, signed_in = await sign_in_with_password(
            pool, username=body.username, password=body.password, address=address, timeout=settings.db_timeout_s
        )
    response = json_response(answer(signed_in))
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
        # A phone's session outlives the browser's; a desk's ends with it (and after 12 hours anyway).
        max_age=DEVICE_SESSION_S if signed_in.kind == "device" else None,
    )
    return response


async def current(request: web.Request) -> web.Response:
    return json_response(answer(_session_of(request)))


async def sign_out(request: web.Request) -> web.Response:
    signed_in = _session_of(request)
    async with connection(request) as conn:
        await db_users.end_session(conn, signed_in.session_id)
    request.app[keys.SESSIONS].forget_secret(request.cookies[SESSION_COOKIE])
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _session_of(request: web.Request) -> SignedIn:
    signed_in: SignedIn | None = request.get(keys.SIGNED_IN)
    if signed_in is None:
        raise MalformedRequest("a bearer token has no session: this call is for a signed-in person", code="no_session")
    return signed_in


def answer(signed_in: SignedIn) -> dict[str, object]:
    a = signed_in.account
    return {
        "user": {
            "username": a.username,
            "display_name": a.display_name,
            "role": a.role,
            "department": a.department,
            "grids": list(a.grids),
        },
        "csrf_token": signed_in.csrf_token,
        "kind": signed_in.kind,
        "expires_at": signed_in.expires_at.isoformat(),
    }


def client_address(request: web.Request) -> str:
    """Where the request came from: the proxy's record of it when the service runs behind one."""
    if request.app[keys.SETTINGS].behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.remote or "unknown"


def is_https(request: web.Request) -> bool:
    if request.app[keys.SETTINGS].behind_proxy and "X-Forwarded-Proto" in request.headers:
        return request.headers["X-Forwarded-Proto"].split(",")[0].strip().lower() == "https"
    return request.secure

"""Request id, access log and request metrics, the single error envelope, per-caller limits, and auth."""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from grid_service import keys, metrics
from grid_service.auth import Principal
from grid_service.db.failures import as_api_error
from grid_service.errors import ApiError, DatabaseUnavailable, Forbidden, TooManyRequests, Unauthenticated
from grid_service.handlers.common import ACCESS_TOKEN
from grid_service.handlers.session import client_address
from grid_service.limits import UNLIMITED_ROUTES
from grid_service.sessions import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE

log = logging.getLogger("grid_service.access")
error_log = logging.getLogger("grid_service.errors")

RETRY_AFTER_S = "1"

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
    request[keys.REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        took = time.perf_counter() - started
        log.info("%s %s %d %.1fms", request.method, request.path, status, took * 1000, extra={"request_id": request_id})
        if keys.SAMPLER in request.app:  # metrics are on
            method = request.method if request.method in KNOWN_METHODS else "other"  # a label of few values
            metrics.observe_request(_route_template(request), method, status, took)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route_template(request: web.Request) -> str:
    """The route as declared ("/api/v1/cases/{case_id}"): one series per route, whatever the ids."""
    if request.match_info.http_exception is not None:
        return "unmatched"
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TooManyRequests as exc:
        if exc.limit is not None and keys.SAMPLER in request.app:
            metrics.RATE_LIMITED.labels(exc.limit).inc()
        response = _error_response(request, exc)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except ApiError as exc:
        return _error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        response = _error_response(request, ApiError(exc.reason, code=code), status=exc.status)
        if "Allow" in exc.headers:  # a 405 says which methods the path does take
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        error = as_api_error(exc)
        if error is None:
            error_log.exception("unhandled error", extra={"request_id": request.get(keys.REQUEST_ID)})
            return _error_response(request, ApiError("internal error"))
        response = _error_response(request, error)
        if isinstance(error, DatabaseUnavailable):
            error_log.warning("database unavailable: %r", exc, extra={"request_id": request.get(keys.REQUEST_ID)})
            response.headers["Retry-After"] = RETRY_AFTER_S
        return response


def _error_response(request: web.Request, exc: ApiError, status: int | None = None) -> web.Response:
    """In the shape of the API the path belongs to (routes.RouteTable)."""
    return request.app[keys.ROUTE_TABLE].error_response(request, exc, status or exc.status)


# Intake over its rate still answers a retry of a report it already stored, from the store
# (handlers/reports.py).
INTAKE_ROUTES = frozenset({"reports.create", "reports.batch", "open311.create_request"})
METRICS_ROUTE = "metrics"


@web.middleware
async def limit_addresses(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Requests per address, before anything else is spent on them (a token lookup included); an
    intake past it is still read, for the retries among its reports."""
    name = request.match_info.route.name
    if name not in UNLIMITED_ROUTES:
        try:
            request.app[keys.LIMITS].admit_address(client_address(request))
        except TooManyRequests as exc:
            if name not in INTAKE_ROUTES:
                raise
            request[keys.OVER_LIMIT] = exc
    return await handler(request)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # unknown path or method: let the router's 404/405 through
    name = request.match_info.route.name
    rules = request.app[keys.ROUTE_TABLE].roles
    if name not in rules:
        raise Forbidden("no access rule for this route")
    allowed = rules[name]
    if allowed is None:
        return await handler(request)
    if name == METRICS_ROUTE and request.app[keys.METRICS_ALLOW].admits(client_address(request)):
        return await handler(request)  # a scraper on an address let in without a token
    caller = await _caller(request)
    if caller.role not in allowed:
        raise Forbidden(f"role {caller.role.value} may not {request.method} {request.path}")
    request[keys.PRINCIPAL] = caller
    try:
        request.app[keys.LIMITS].admit_token(caller.token_id)
    except TooManyRequests as exc:
        if name not in INTAKE_ROUTES:
            raise
        request[keys.OVER_LIMIT] = exc  # the handler answers the retries among its reports
    return await handler(request)


def page_policy(tile_url: str | None) -> str:
    """The Content-Security-Policy of the pages: their own scripts and styles only (no inline script,
    no other origin), map tiles from the configured tile server, never framed."""
    images = "'self' data: blob:"  # blob: the app's photos, shown before they are sent
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "*"))
        images += f" {parts.scheme}://{parts.netloc.split('{')[0]}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


API_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer, streamed ones and static files included, just before its headers go out."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers["Referrer-Policy"] = "no-referrer"  # a token in the page's address never leaks to a subresource
    if response.status == 304:
        # Not Modified carries no body and no type: the browser keeps the stored answer and takes these
        # headers over it, so an API policy here would sandbox a page it had kept (a page's second load).
        return
    if response.content_type == "text/html":
        headers["Content-Security-Policy"] = request.app[keys.PAGE_POLICY]
    else:
        headers.setdefault("Content-Security-Policy", API_POLICY)
    if (
        request.method != "GET"
        or "Authorization" in request.headers
        or ACCESS_TOKEN in request.query
        or (SESSION_COOKIE in request.cookies and request.path.startswith("/api/"))  # the app's files are public
    ):
        # Nothing answered to a token (a header, ?access_token=, an Open311 api_key in a form) is
        # kept by a browser or a proxy.
        headers["Cache-Control"] = "no-store"


async def _caller(request: web.Request) -> Principal:
    """Who is calling: a bearer token's holder (machines), else the person the session cookie
    signed in, whose writes must carry the session's CSRF token (a page of another site can make
    a browser send the cookie, never read the token)."""
    settings = request.app[keys.SETTINGS]
    token = _bearer(request)
    if token is not None:
        caller = await request.app[keys.TOKENS].lookup(request.app[keys.POOL], token, settings.db_timeout_s)
        if caller is None:
            raise Unauthenticated("unknown or revoked token")
        return caller
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise Unauthenticated("sign in, or send Authorization: Bearer <token> (or ?access_token= on GET)")
    signed_in = await request.app[keys.SESSIONS].lookup(request.app[keys.POOL], secret, settings.db_timeout_s)
    if signed_in is None:
        raise Unauthenticated("the session has ended: sign in again", code="session_ended")
    if request.method not in SAFE_METHODS and not hmac.compare_digest(
        request.headers.get(CSRF_HEADER, "").encode(), signed_in.csrf_token.encode()
    ):
        raise Forbidden(f"a signed-in write sends the session's {CSRF_HEADER}", code="csrf_failed")
    request[keys.SIGNED_IN] = signed_in
    return signed_in.principal


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.method == "GET":  # EventSource and page loads cannot set headers
        return request.query.get(ACCESS_TOKEN) or None
    return None

"""/open311/v2/: GeoReport v2 over the native model (see georeport/mapping.py for the mapping).

Reads need no key, as the specification says; POST requests takes an inspector or channel token as
api_key and goes through native intake, routing and deadlines unchanged. Errors are rendered by the
error middleware in the specification's shape (see georeport/errors.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from aiohttp import web

from grid_service import keys
from grid_service.db import open311 as db_open311
from grid_service.db.rows import ServiceRequestRow
from grid_service.errors import (
    ApiError,
    Forbidden,
    MalformedRequest,
    NotFound,
    RequestTimeout,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from grid_service.georeport import mapping
from grid_service.georeport.formats import Format, respond, w3c
from grid_service.georeport.models import MAX_REQUEST_IDS, RequestsQuery
from grid_service.handlers.common import connection, validate
from grid_service.handlers.reports import accept
from grid_service.schemas import Role

PREFIX = "/open311/v2"
DEFAULT_SPAN = dt.timedelta(days=90)
MAX_REQUESTS = 1000
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# An api_key is an inspector token, or a channel token whose source its requests then carry.
KEY_ROLES = frozenset({Role.INSPECTOR, Role.CHANNEL, Role.ADMIN})


def _format(request: web.Request) -> Format:
    return Format(request.match_info["format"])


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


async def discovery(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    async with connection(request) as conn:
        changed = await db_open311.configuration_loaded_at(conn)
    tz = request.app[keys.CONFIG].current.calendar.timezone
    changeset = w3c(changed, tz)
    body = {
        "changeset": changeset,
        "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [
            {
                "specification": mapping.SPECIFICATION,
                "url": _origin(request) + PREFIX,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(body, "discovery", _format(request))


async def services(request: web.Request) -> web.Response:
    categories = request.app[keys.CONFIG].current.categories.values()
    return respond([mapping.service(c) for c in categories], "services", _format(request))


async def service_definition(request: web.Request) -> web.Response:
    code = request.match_info["service_code"]
    category = request.app[keys.CONFIG].current.categories.get(code)
    if category is None:
        raise NotFound(f"service_code {code!r} was not found")
    return respond(mapping.service_definition(category), "service_definition", _format(request))


def _requests_query(request: web.Request) -> RequestsQuery:
    # A parameter given twice counts as its comma list; an empty one as not given at all.
    values: dict[str, str] = {}
    for name in set(request.query):
        given = [v.strip() for v in request.query.getall(name) if v.strip()]
        if given:
            values[name] = ",".join(given)
    return validate(RequestsQuery, values, what="query parameters")


def _period(query: RequestsQuery, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The requested_datetime range: at most 90 days, the last 90 by default."""
    start = dt.datetime.fromisoformat(query.start_date) if query.start_date else None
    end = dt.datetime.fromisoformat(query.end_date) if query.end_date else None
    if start is None and end is None:
        return now - DEFAULT_SPAN, now
    if start is None:
        assert end is not None
        return end - DEFAULT_SPAN, end
    if end is None:
        return start, start + DEFAULT_SPAN
    if end < start:
        raise ValidationFailed("end_date is before start_date", details=[field_error(["end_date"], "before start")])
    if end - start > DEFAULT_SPAN:
        raise ValidationFailed(
            "start_date and end_date may not span more than 90 days",
            details=[field_error(["end_date"], "more than 90 days after start_date")],
        )
    return start, end


async def service_requests(request: web.Request) -> web.Response:
    query = _requests_query(request)
    async with connection(request) as conn:
        if query.service_request_id:  # overrides every other filter
            numbers = query.service_request_id.split(",")
            if len(numbers) > MAX_REQUEST_IDS:
                raise ValidationFailed(f"at most {MAX_REQUEST_IDS} service_request_ids at once")
            rows = await db_open311.by_number(conn, numbers)
        else:
            start, end = _period(query, request.app[keys.CLOCK]())
            statuses = set(query.status.split(",")) if query.status else {"open", "closed"}
            rows = await db_open311.in_period(
                conn,
                start=start,
                end=end,
                categories=query.service_code.split(",") if query.service_code else None,
                closed=None if len(statuses) == 2 else "closed" in statuses,
                limit=MAX_REQUESTS,
            )
    return _requests_response(request, rows)


async def service_request(request: web.Request) -> web.Response:
    number = request.match_info["service_request_id"]
    async with connection(request) as conn:
        rows = await db_open311.by_number(conn, [number])
    if not rows:
        raise NotFound(f"service_request_id {number!r} was not found")
    return _requests_response(request, rows)


def _requests_response(request: web.Request, rows: list[ServiceRequestRow]) -> web.Response:
    snapshot = request.app[keys.CONFIG].current
    tz = snapshot.calendar.timezone
    notices = {code: mapping.service_notice(c) for code, c in snapshot.categories.items()}
    body = [mapping.service_request(row, tz, notices.get(row.category), snapshot.labels) for row in rows]
    return respond(body, "service_requests", _format(request))


async def create_request(request: web.Request) -> web.Response:
    """POST requests: one report through native intake; an identical POST within 24 hours (a client
    retrying after a lost answer) gets the first one's service_request_id and stores nothing."""
    if request.content_type not in FORM_TYPES:
        raise UnsupportedMediaType("send the request form-encoded (application/x-www-form-urlencoded)")
    idle_s = request.app[keys.SETTINGS].body_idle_timeout_s
    try:
        async with asyncio.timeout(idle_s):  # a form is small: this bounds the whole of it
            form = await request.post()
    except UnicodeDecodeError as exc:
        raise MalformedRequest("the form is not UTF-8: encode it as UTF-8") from exc
    except TimeoutError as exc:
        raise RequestTimeout(f"the form did not arrive within {idle_s:g} s") from exc
    settings = request.app[keys.SETTINGS]
    api_key = form.get("api_key")
    if not isinstance(api_key, str) or not api_key.strip():
        raise Forbidden("api_key is required: an inspector or channel token")
    caller = await request.app[keys.TOKENS].lookup(request.app[keys.POOL], api_key.strip(), settings.db_timeout_s)
    if caller is None or caller.role not in KEY_ROLES:
        raise Forbidden("invalid api_key: send an inspector or channel token")
    try:
        request.app[keys.LIMITS].admit_token(caller.token_id)
    except TooManyRequests as exc:  # a retry of a request already created is still answered
        request[keys.OVER_LIMIT] = request.get(keys.OVER_LIMIT) or exc
    fields, attributes = mapping.read_form(form)
    snapshot = request.app[keys.CONFIG].current
    category = snapshot.categories.get(fields.service_code)
    if category is None:
        raise NotFound(f"service_code {fields.service_code!r} was not found")
    now = request.app[keys.CLOCK]()
    client_id, yesterdays = mapping.retry_client_ids(fields, attributes, now)
    report = mapping.foreign_report(client_id, fields, attributes)
    async with connection(request) as conn:
        answer = await db_open311.earlier_answer(conn, caller.token_id, yesterdays, now - mapping.RETRY_WINDOW)
    if answer is None:
        [accepted] = await accept(request, [report], caller)
        if isinstance(accepted, ApiError):
            raise accepted
        answer = accepted.acknowledgement
    created = {
        "service_request_id": answer["case_no"],
        "service_notice": mapping.service_notice(category),
        "account_id": fields.account_id,
    }
    return respond([created], "service_requests", _format(request))


async def token(request: web.Request) -> web.Response:
    """Requests are created in real time, so POST never answers a token; a report id works as one
    (the case a report joined may be an earlier one, when it was a duplicate)."""
    text = request.match_info["token"]
    try:
        report_id = uuid.UUID(text)
    except ValueError:
        raise NotFound(f"token {text!r} was not found") from None
    async with connection(request) as conn:
        case_no = await db_open311.case_of_report(conn, report_id)
    if case_no is None:
        raise NotFound(f"token {text!r} was not found")
    return respond([{"service_request_id": case_no, "token": text}], "service_requests", _format(request))

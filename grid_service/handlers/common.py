"""Helpers every handler uses: JSON in and out, validation errors, the caller."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import asyncpg
import orjson
from aiohttp import web
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy
from pydantic import BaseModel, ValidationError

from grid_service import keys
from grid_service.auth import Principal
from grid_service.errors import (
    ApiError,
    MalformedRequest,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)

M = TypeVar("M", bound=BaseModel)


ACCESS_TOKEN = "access_token"  # query parameter carrying the token where a browser cannot set headers


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def connection(request: web.Request) -> PoolAcquireContext:
    """A pooled connection for this request, waited for at most ``db_timeout_s`` (then a 503)."""
    return request.app[keys.POOL].acquire(timeout=request.app[keys.SETTINGS].db_timeout_s)


def read_connection(
    request: web.Request, pool: asyncpg.Pool | None = None
) -> AbstractAsyncContextManager[PoolConnectionProxy]:
    """A pooled connection for a read that may be a little behind (statistics, the bulletin, map
    snapshots, case lists): the read standby's while it is close enough (db/replicas.py), else the
    primary's. ``pool``: ``ReadReplica.pool()`` taken once for an answer made of several reads,
    which then all read the same server."""
    replica = request.app.get(keys.READ_REPLICA)
    timeout = request.app[keys.SETTINGS].db_timeout_s
    if replica is None:
        return request.app[keys.POOL].acquire(timeout=timeout)
    return replica.connection(timeout=timeout, pool=pool)


def error_response(request: web.Request, error: ApiError, status: int) -> web.Response:
    """The native API's error envelope (errors.ApiError.body)."""
    return json_response(error.body(), status=status)


def principal(request: web.Request) -> Principal:
    caller: Principal = request[keys.PRINCIPAL]
    return caller


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole request body, chunked or not; 413 as soon as it passes ``limit`` bytes.

    ``request.content.read(n)`` answers with what has arrived so far, not with n bytes, so the
    body is gathered until the end of the stream."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    idle_s = request.app[keys.SETTINGS].body_idle_timeout_s
    while chunk := await _next_chunk(request, idle_s):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _next_chunk(request: web.Request, idle_s: float) -> bytes:
    """What arrives next of the body; 408 when the client sends nothing for ``idle_s`` (a stalled
    upload holds a connection and a worker's memory: it is let go, and the client may send again)."""
    try:
        async with asyncio.timeout(idle_s):
            return await request.content.readany()
    except TimeoutError as exc:
        raise RequestTimeout(f"the request body stalled: nothing arrived for {idle_s:g} s") from exc


async def read_json(request: web.Request) -> Any:
    """The request body as JSON: 415 unless declared JSON, 413 past the limit, 400 when not JSON."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    body = await read_body(request, request.app[keys.SETTINGS].max_json_bytes)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from exc


async def read_optional_json(request: web.Request) -> Any:
    """Like read_json, but an empty body (with or without a content type) reads as {}."""
    if not request.body_exists or request.content_length == 0:
        return {}
    return await read_json(request)


def validation_details(exc: ValidationError, prefix: list[str | int] | None = None) -> list[dict[str, Any]]:
    return [
        field_error([*(prefix or []), *err["loc"]], err["msg"], err["type"])
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def validate(model: type[M], data: Any, *, what: str = "request body") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(f"invalid {what}", details=validation_details(exc)) from exc


def validate_query(model: type[M], request: web.Request) -> M:
    query = {k: v for k, v in request.query.items() if k != ACCESS_TOKEN}  # read by the auth middleware
    return validate(model, query, what="query parameters")

"""Errors as GeoReport v2 says: an array of {code, description}, 403 for a missing or invalid
api_key, 404 for what does not exist, 400 for any other request that cannot be fulfilled.

A database outage keeps its 503 and Retry-After, and a caller past its limit its 429: neither is a
fault of the request, and an app that retries later loses nothing (an identical POST is
recognised as its retry).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from grid_service.errors import ApiError
from grid_service.georeport.formats import Format, respond

KEPT = {403, 404, 429, 500, 503}
ERROR_TEXT = {
    400: "The request cannot be fulfilled as sent; each error names the field.",
    403: "api_key missing, unknown, or neither an inspector nor a channel token.",
    404: "No such service, service request or token.",
    429: "This api_key or address sent more than its limit; retry after the Retry-After header.",
    503: "Database unavailable; retry after the Retry-After header.",
}


def status_for(native: int) -> int:
    if native == 401:
        return 403
    return native if native in KEPT else 400


def error_response(request: web.Request, error: ApiError, native_status: int) -> web.Response:
    status = status_for(native_status)
    errors = [
        {"code": status, "description": f"{_path_text(d.get('path', []))}: {d.get('message', '')}"}
        for d in error.details
        if isinstance(d, dict)
    ] or [{"code": status, "description": error.message}]
    fmt = Format.XML if request.path.endswith(".xml") else Format.JSON
    return respond(errors, "errors", fmt, status=status)


def _path_text(path: list[Any]) -> str:
    return ".".join(str(part) for part in path) or "request"

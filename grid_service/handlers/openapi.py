"""GET /openapi.json: generated once per process from the route table."""

from __future__ import annotations

import functools
from importlib.metadata import version
from typing import Any

from aiohttp import web

from grid_service.handlers.common import json_response


@functools.cache
def _document() -> dict[str, Any]:
    # Imported here: the route table imports this handler.
    from grid_service.openapi import build_document
    from grid_service.routes import ROUTES

    return build_document(ROUTES, version=version("grid-service"))


async def document(request: web.Request) -> web.Response:
    return json_response(_document())

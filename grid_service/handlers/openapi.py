"""GET /openapi.json: generated once per process from the route table (routes.RouteTable.document)."""

from __future__ import annotations

from aiohttp import web

from grid_service import keys
from grid_service.handlers.common import json_response


async def document(request: web.Request) -> web.Response:
    return json_response(request.app[keys.ROUTE_TABLE].document)

"""GET /api/v1/categories and /api/v1/departments, from the worker's configuration snapshot."""

from __future__ import annotations

from aiohttp import web

from grid_service import keys
from grid_service.handlers.common import json_response


async def list_categories(request: web.Request) -> web.Response:
    snapshot = request.app[keys.CONFIG].current
    return json_response({"categories": [c.model_dump(mode="json") for c in snapshot.categories.values()]})


async def list_departments(request: web.Request) -> web.Response:
    snapshot = request.app[keys.CONFIG].current
    return json_response({"departments": [d.model_dump(mode="json") for d in snapshot.departments.values()]})

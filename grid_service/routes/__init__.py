"""The whole URL map: every route named, the roles allowed on it (deny by default), and the shape
each API answers errors in.

The tables themselves are in ``native.py`` and ``open311.py``; ``route.py`` defines a route and an
API. The table reaches the middlewares and the OpenAPI handler through the app (keys.ROUTE_TABLE),
so neither knows which APIs there are.
"""

from __future__ import annotations

import functools
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiohttp import web

from grid_service import keys
from grid_service.errors import ApiError
from grid_service.handlers import map_view
from grid_service.openapi import build_document
from grid_service.routes.native import NATIVE
from grid_service.routes.open311 import OPEN311
from grid_service.routes.route import Api, Route
from grid_service.schemas import Role

__all__ = ["ROUTES", "TABLE", "Api", "Route", "RouteTable", "setup_routes"]

# Files the map page loads: Leaflet from its Python package, and the page's own script and style.
STATIC: tuple[tuple[str, Path, str], ...] = (
    ("/static/leaflet", map_view.LEAFLET_DIR, "static.leaflet"),
    ("/static/map", map_view.PAGE_DIR, "static.map"),
)


class RouteTable:
    """The APIs the service answers, looked up by route name (roles) and by path (error shape)."""

    def __init__(self, apis: tuple[Api, ...], static: tuple[tuple[str, Path, str], ...]) -> None:
        self.apis = apis
        self.static = static
        self.routes: tuple[Route, ...] = tuple(r for api in apis for r in api.routes)
        self.roles: dict[str, frozenset[Role] | None] = {r.name: r.roles for r in self.routes}
        self.roles |= {name: None for _, _, name in static}
        # Longest prefix first: the first that matches is the most specific API.
        self._by_prefix = sorted(apis, key=lambda api: len(api.prefix), reverse=True)

    def error_response(self, request: web.Request, error: ApiError, status: int) -> web.Response:
        for api in self._by_prefix:
            if request.path.startswith(api.prefix):
                return api.render_error(request, error, status)
        return self._by_prefix[-1].render_error(request, error, status)

    @functools.cached_property
    def document(self) -> dict[str, Any]:
        """The OpenAPI document, generated once per process."""
        return build_document(self.routes, version=version("grid-service"))


TABLE = RouteTable((NATIVE, OPEN311), STATIC)
ROUTES = TABLE.routes


def setup_routes(app: web.Application, table: RouteTable = TABLE) -> None:
    app[keys.ROUTE_TABLE] = table
    for route in table.routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    for prefix, directory, name in table.static:
        app.router.add_static(prefix, directory, name=name)

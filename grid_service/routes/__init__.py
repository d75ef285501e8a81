"""The whole URL map, every route named, with the roles allowed on it (deny by default).

The tables themselves are in ``native.py`` and ``open311.py``; ``route.py`` defines a route."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from grid_service.handlers import map_view
from grid_service.routes.native import NATIVE_ROUTES
from grid_service.routes.open311 import OPEN311_ROUTES
from grid_service.routes.route import Route
from grid_service.schemas import Role

__all__ = ["ROLE_RULES", "ROUTES", "Route", "setup_routes"]

ROUTES = NATIVE_ROUTES + OPEN311_ROUTES

# Files the map page loads: Leaflet from its Python package, and the page's own script and style.
STATIC: tuple[tuple[str, Path, str], ...] = (
    ("/static/leaflet", map_view.LEAFLET_DIR, "static.leaflet"),
    ("/static/map", map_view.PAGE_DIR, "static.map"),
)

ROLE_RULES: dict[str, frozenset[Role] | None] = {r.name: r.roles for r in ROUTES} | {n: None for _, _, n in STATIC}


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    for prefix, directory, name in STATIC:
        app.router.add_static(prefix, directory, name=name)

"""The whole URL map, every route named, with the roles allowed on it (deny by default)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from grid_service.handlers import cases, catalogue, grids, health, reports
from grid_service.schemas import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EVERYONE = frozenset(Role)
READERS = frozenset({Role.INSPECTOR, Role.DEPARTMENT, Role.DISPATCHER, Role.VIEWER, Role.ADMIN})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    name: str
    roles: frozenset[Role] | None  # None: public (no token needed)
    summary: str


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", health.healthz, "healthz", None, "The process is alive."),
    Route("GET", "/readyz", health.readyz, "readyz", None, "Database reachable and grid loaded."),
    Route(
        "POST",
        "/api/v1/reports",
        reports.create_report,
        "reports.create",
        frozenset({Role.INSPECTOR, Role.ADMIN}),
        "Submit one report (idempotent by client_id).",
    ),
    Route(
        "POST",
        "/api/v1/reports/batch",
        reports.create_report_batch,
        "reports.batch",
        frozenset({Role.INSPECTOR, Role.ADMIN}),
        "Submit up to 500 reports, each answered on its own.",
    ),
    Route(
        "GET", "/api/v1/cases/{case_id}", cases.get_case, "cases.get", READERS, "A case with its reports and history."
    ),
    Route(
        "GET",
        "/api/v1/categories",
        catalogue.list_categories,
        "categories.list",
        READERS,
        "The event categories and their time limits.",
    ),
    Route(
        "GET",
        "/api/v1/departments",
        catalogue.list_departments,
        "departments.list",
        READERS,
        "The departments cases are routed to.",
    ),
    Route("GET", "/api/v1/grids/locate", grids.locate, "grids.locate", READERS, "The grid cell containing a point."),
)

ROLE_RULES: dict[str, frozenset[Role] | None] = {r.name: r.roles for r in ROUTES}


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)

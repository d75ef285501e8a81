"""The workbench (工作台, SPEC §13) at /desk/: its page and files, served from the package, and what
it needs to know that is not data. The page holds no data and no rule of its own: it signs in with the
session, reads and acts through the API, and learns from /desk/settings.json which role may do what,
from which status, so that the buttons it shows are the ones the service would accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from grid_service import keys
from grid_service.domain.enums import EventType
from grid_service.domain.states import TRANSITIONS, Action
from grid_service.flows import casework
from grid_service.handlers.common import json_response
from grid_service.handlers.map_view import grid_bounds
from grid_service.handlers.package_files import PackageFiles
from grid_service.handlers.stats import street_names
from grid_service.schemas import Role

FILES = PackageFiles(Path(__file__).resolve().parents[1] / "static" / "desk")
# The routes whose roles decide which of the workbench's pages a person sees.
PAGES = {
    "stats": "stats",
    "bulletin": "reports.monthly",
    "register": "reports.create",
    "device_code": "users.device_code",
}


async def page(request: web.Request) -> web.Response:
    return FILES.serve(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    return FILES.serve(request, request.match_info["name"])


def _actions() -> dict[str, dict[str, list[str]]]:
    """Each action on a case: the roles that may take it and the statuses it may be taken from."""
    actions: dict[str, dict[str, list[str]]] = {}
    for action in Action:
        statuses = sorted({s.value for (a, _), t in TRANSITIONS.items() if a is action for s in t.allowed_from})
        roles = sorted({r.value for r in casework.ACTORS[action] | {Role.ADMIN}})
        actions[action.value] = {"roles": roles, "from": statuses}
    return actions


async def desk_settings(request: web.Request) -> web.Response:
    snapshot = request.app[keys.CONFIG].current
    roles = request.app[keys.ROUTE_TABLE].roles
    body: dict[str, Any] = {
        "timezone": str(snapshot.calendar.timezone),
        "tile_url": request.app[keys.SETTINGS].tile_url,
        "bounds": grid_bounds(snapshot),
        "streets": [{"code": code, "name": name} for code, name in sorted(street_names(snapshot).items())],
        "actions": _actions(),
        "pages": {page: sorted(r.value for r in roles.get(route) or ()) for page, route in PAGES.items()},
        "event_types": [t.value for t in EventType],
        "max_extensions": snapshot.disputes.max_extensions,
        "heavy_reads_at_once": request.app[keys.SETTINGS].heavy_reads_per_caller,  # the statistics' pace
        "labels": {"check_report": snapshot.labels.check_report, "check_result": snapshot.labels.check_result},
    }
    return json_response(body)

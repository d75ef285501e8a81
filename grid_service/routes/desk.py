"""The workbench (工作台, SPEC §13): public files; what it reads and writes is the API's."""

from __future__ import annotations

from grid_service.handlers import desk
from grid_service.routes.inspector import AppFilePath
from grid_service.routes.route import Route

DESK_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/desk/",
        desk.page,
        "desk.page",
        None,
        "工作台, the workbench of receivers, dispatchers, shift leads and department clerks. The page holds no "
        "data: it signs in (POST /api/v1/session) and reads and acts through the API with the session; its "
        "view and filters are in its address (?view=&status=&category=&department=&street=&light=&source=&since="
        "&until=&case_no=, or ?case=<id>), so a view can be bookmarked and shared.",
        content_type="text/html",
    ),
    Route(
        "GET",
        "/desk/static/{name}",
        desk.asset,
        "desk.asset",
        None,
        "A file of the workbench (its scripts and style), gzip-compressed when text.",
        content_type="application/octet-stream",
        path_params=AppFilePath,
        errors=(404,),
    ),
    Route(
        "GET",
        "/desk/settings.json",
        desk.desk_settings,
        "desk.settings",
        None,
        "What the workbench needs besides data: the city's time zone, the tile layer, where the grid lies, the "
        "streets (9-digit grid prefixes) and their names, and for each action on a case the roles that may take "
        "it and the statuses it is taken from (so the page offers only what the service accepts).",
    ),
)

"""The inspector's app (巡查通, SPEC §13): public files; what it reads and writes is the API's."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from grid_service.handlers import inspector_app
from grid_service.routes.route import Route


class AppFilePath(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z]+$", description="a file of the shell, e.g. app.js")]


APP_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/app/",
        inspector_app.page,
        "app.page",
        None,
        "巡查通, the inspector's phone app (installable; opens with no network after the first visit). The "
        "page holds no data: it signs in (POST /api/v1/session) and reads the API with the session.",
        content_type="text/html",
    ),
    Route(
        "GET",
        "/app/sw.js",
        inspector_app.service_worker,
        "app.service_worker",
        None,
        "The app's service worker (scope /app/): it keeps the app's shell for opening offline.",
        content_type="text/javascript",
    ),
    Route(
        "GET",
        "/app/static/{name}",
        inspector_app.asset,
        "app.asset",
        None,
        "A file of the app's shell (its scripts, style and icons), gzip-compressed when text.",
        content_type="application/octet-stream",
        path_params=AppFilePath,
        errors=(404,),
    ),
    Route(
        "GET",
        "/app/manifest.webmanifest",
        inspector_app.manifest,
        "app.manifest",
        None,
        "The app's web app manifest.",
        content_type="application/manifest+json",
    ),
    Route(
        "GET",
        "/app/settings.json",
        inspector_app.app_settings,
        "app.settings",
        None,
        "What the app needs besides data: the location accuracy it waits for (GRID_SERVICE_APP_ACCURACY_M), how "
        "long before it offers a worse fix (GRID_SERVICE_APP_FIX_TIMEOUT_S), the tile layer and the city's time zone.",
    ),
)

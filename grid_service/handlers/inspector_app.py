"""巡查通, the inspector's app (SPEC §13), served from the package: its page, its service worker
(at /app/sw.js, so that its scope is /app/), its manifest and what it needs of the settings."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from grid_service import keys
from grid_service.handlers.common import json_response

APP_DIR = Path(__file__).resolve().parents[1] / "static" / "app"


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(APP_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def service_worker(request: web.Request) -> web.FileResponse:
    # A worker's own fetches obey the policy its script was served with: the pages' (its origin only).
    return web.FileResponse(
        APP_DIR / "sw.js",
        headers={
            "Content-Type": "text/javascript",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": request.app[keys.PAGE_POLICY],
        },
    )


async def manifest(request: web.Request) -> web.FileResponse:
    return web.FileResponse(APP_DIR / "manifest.webmanifest", headers={"Content-Type": "application/manifest+json"})


async def app_settings(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    snapshot = request.app[keys.CONFIG].current
    return json_response(
        {
            "accuracy_m": settings.app_accuracy_m,
            "fix_timeout_s": settings.app_fix_timeout_s,
            "tile_url": settings.tile_url,
            "timezone": str(snapshot.calendar.timezone),
        }
    )

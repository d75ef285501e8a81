"""巡查通, the inspector's app (SPEC §13), served from the package: its page, its files, its service
worker (at /app/sw.js, so that its scope is /app/), its manifest and what it needs of the settings."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from aiohttp import web

from grid_service import keys
from grid_service.handlers.common import json_response
from grid_service.handlers.map_view import grid_bounds
from grid_service.handlers.package_files import PackageFiles, answer

APP_DIR = Path(__file__).resolve().parents[1] / "static" / "app"
FILES = PackageFiles(APP_DIR)


async def page(request: web.Request) -> web.Response:
    return FILES.serve(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    return FILES.serve(request, request.match_info["name"])


SHELL = ("index.html", "app.js", "api.js", "outbox.js", "app.css", "manifest.webmanifest", "icon-192.png")


@functools.cache
def _service_worker() -> tuple[bytes, str]:
    """sw.js with the shell's version in it: any change to a file of the shell is a new worker."""
    version = hashlib.sha256(b"".join(FILES.read(name)[0] for name in SHELL)).hexdigest()[:16]
    data = FILES.read("sw.js")[0].replace(b"__SHELL_VERSION__", version.encode())
    return data, f'"{hashlib.sha256(data).hexdigest()[:32]}"'


async def service_worker(request: web.Request) -> web.Response:
    data, etag = _service_worker()
    # A worker's own fetches obey the policy its script was served with: the pages' (its origin only).
    policy = {"Content-Security-Policy": request.app[keys.PAGE_POLICY]}
    return answer(request, data, "text/javascript", etag, policy)


async def manifest(request: web.Request) -> web.Response:
    return FILES.serve(request, "manifest.webmanifest")


async def app_settings(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    snapshot = request.app[keys.CONFIG].current
    return json_response(
        {
            "accuracy_m": settings.app_accuracy_m,
            "fix_timeout_s": settings.app_fix_timeout_s,
            "tile_url": settings.tile_url,
            "timezone": str(snapshot.calendar.timezone),
            "bounds": grid_bounds(snapshot),  # where the map opens before the phone has a fix
        }
    )

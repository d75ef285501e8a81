"""巡查通, the inspector's app (SPEC §13), served from the package: its page, its files, its service
worker (at /app/sw.js, so that its scope is /app/), its manifest and what it needs of the settings."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from aiohttp import web

from grid_service import keys
from grid_service.errors import NotFound
from grid_service.handlers.common import json_response
from grid_service.handlers.map_view import grid_bounds

APP_DIR = Path(__file__).resolve().parents[1] / "static" / "app"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}
COMPRESSED = {"text/html", "text/javascript", "text/css", "application/manifest+json"}


@functools.cache
def _file(name: str) -> tuple[bytes, str, str]:
    """The file's bytes, type and ETag, read once per worker (the package's files do not change)."""
    path = APP_DIR / name
    if path.parent != APP_DIR or path.suffix not in TYPES or not path.is_file():
        raise NotFound("no such file")
    data = path.read_bytes()
    return data, TYPES[path.suffix], f'"{hashlib.sha256(data).hexdigest()[:32]}"'


def _serve(request: web.Request, name: str, headers: dict[str, str] | None = None) -> web.Response:
    """A file of the app, revalidated by ETag (a phone on a slow line asks, and is answered 304) and
    gzip-compressed when text: the shell is read on one bar of signal."""
    data, content_type, etag = _file(name)
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    response = web.Response(
        body=data, content_type=content_type, headers={"ETag": etag, "Cache-Control": "no-cache", **(headers or {})}
    )
    if content_type in COMPRESSED:
        response.enable_compression()
        response.headers["Vary"] = "Accept-Encoding"  # a cache between keeps each encoding apart
    return response


async def page(request: web.Request) -> web.Response:
    return _serve(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    return _serve(request, request.match_info["name"])


SHELL = ("index.html", "app.js", "api.js", "outbox.js", "app.css", "manifest.webmanifest", "icon-192.png")


@functools.cache
def _service_worker() -> tuple[bytes, str]:
    """sw.js with the shell's version in it: any change to a file of the shell is a new worker."""
    version = hashlib.sha256(b"".join(_file(name)[0] for name in SHELL)).hexdigest()[:16]
    data = _file("sw.js")[0].replace(b"__SHELL_VERSION__", version.encode())
    return data, f'"{hashlib.sha256(data).hexdigest()[:32]}"'


async def service_worker(request: web.Request) -> web.Response:
    data, etag = _service_worker()
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    # A worker's own fetches obey the policy its script was served with: the pages' (its origin only).
    response = web.Response(
        body=data,
        content_type="text/javascript",
        headers={"ETag": etag, "Cache-Control": "no-cache", "Content-Security-Policy": request.app[keys.PAGE_POLICY]},
    )
    response.enable_compression()
    response.headers["Vary"] = "Accept-Encoding"
    return response


async def manifest(request: web.Request) -> web.Response:
    return _serve(request, "manifest.webmanifest")


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

"""A page's files served from the package: read once per worker (the package's files do not change),
revalidated by ETag, and gzip-compressed when text. The inspector's app and the workbench use it."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from aiohttp import web

from grid_service.errors import NotFound

TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}
COMPRESSED = {"text/html", "text/javascript", "text/css", "application/manifest+json"}


class PackageFiles:
    """The files of one directory of the package, by name (nothing outside it, nothing of another type)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @functools.cache  # noqa: B019 - one instance per directory, for the process's life
    def read(self, name: str) -> tuple[bytes, str, str]:
        """The file's bytes, type and ETag."""
        path = self.directory / name
        if path.parent != self.directory or path.suffix not in TYPES or not path.is_file():
            raise NotFound("no such file")
        data = path.read_bytes()
        return data, TYPES[path.suffix], f'"{hashlib.sha256(data).hexdigest()[:32]}"'

    def serve(self, request: web.Request, name: str, headers: dict[str, str] | None = None) -> web.Response:
        """The file, or 304 when the browser holds it already (a phone on a slow line asks, and is
        answered in a few bytes); text compressed when the browser takes gzip."""
        data, content_type, etag = self.read(name)
        return answer(request, data, content_type, etag, headers)


def answer(
    request: web.Request, data: bytes, content_type: str, etag: str, headers: dict[str, str] | None = None
) -> web.Response:
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    response = web.Response(
        body=data, content_type=content_type, headers={"ETag": etag, "Cache-Control": "no-cache", **(headers or {})}
    )
    if content_type in COMPRESSED:
        response.enable_compression()
        response.headers["Vary"] = "Accept-Encoding"  # a cache between keeps each encoding apart
    return response

"""POST /api/v1/media and GET /api/v1/media/{id}: photos, content-addressed."""

from __future__ import annotations

import asyncio
import hashlib
import re

from aiohttp import web

from grid_service import keys
from grid_service.db import media as db_media
from grid_service.domain.photos import inspect_photo
from grid_service.errors import NotFound, UnsupportedMediaType
from grid_service.handlers.common import connection, json_response, principal, read_body, validate_query
from grid_service.schemas import MediaQuery

MAX_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


async def upload(request: web.Request) -> web.Response:
    where = validate_query(MediaQuery, request)
    declared = request.content_type
    if declared not in PHOTO_TYPES:
        raise UnsupportedMediaType("send a photo as image/jpeg, image/png or image/webp")
    data = await read_body(request, MAX_BYTES)
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.PHOTO_DECODING]:
        content_type = await asyncio.to_thread(
            inspect_photo, data, declared=declared, max_pixels=settings.photo_max_pixels
        )
    sha256 = hashlib.sha256(data).hexdigest()
    async with connection(request) as conn:
        created = await db_media.store(
            conn,
            sha256=sha256,
            content_type=content_type,
            data=data,
            uploaded_by=principal(request).actor,
            capture=db_media.Capture(where.lon, where.lat, where.accuracy_m, where.taken_at),
        )
    return json_response({"id": sha256, "url": f"/api/v1/media/{sha256}"}, status=201 if created else 200)


async def download(request: web.Request) -> web.Response:
    """A photo, to whoever may see a case that shows it; before any case shows it, to its uploader only."""
    sha256 = request.match_info["media_id"]
    if not _SHA256.match(sha256):
        raise NotFound("no such media")
    caller = principal(request)
    department = caller.scope()
    async with connection(request) as conn:
        photo = await db_media.fetch(conn, sha256, department=department)
    if photo is None or not (photo.on_visible_case or photo.uploaded_by == caller.actor):
        raise NotFound("no such media")
    return web.Response(
        body=photo.data,
        content_type=photo.content_type,  # the type found by decoding at upload, never a declared one
        headers={
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline",
        },
    )

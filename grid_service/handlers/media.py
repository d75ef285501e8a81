"""POST /api/v1/media and GET /api/v1/media/{id}: photos, content-addressed."""

from __future__ import annotations

import hashlib
import re

from aiohttp import web

from grid_service import keys
from grid_service.db import media as db_media
from grid_service.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed, field_error
from grid_service.handlers.common import json_response, principal

MAX_BYTES = 10 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sniff(data: bytes) -> str | None:
    """The image type the bytes really are (by their signature), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def upload(request: web.Request) -> web.Response:
    declared = request.content_type
    if declared not in ("image/jpeg", "image/png", "image/webp"):
        raise UnsupportedMediaType("send a photo as image/jpeg, image/png or image/webp")
    if request.content_length is not None and request.content_length > MAX_BYTES:
        raise PayloadTooLarge(f"photos are limited to {MAX_BYTES} bytes")
    data = await request.content.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"photos are limited to {MAX_BYTES} bytes")
    if sniff(data) != declared:
        raise ValidationFailed(
            f"the bytes are not {declared}", details=[field_error(["body"], "content does not match its type")]
        )
    sha256 = hashlib.sha256(data).hexdigest()
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.POOL].acquire(timeout=settings.db_timeout_s) as conn:
        created = await db_media.store(
            conn, sha256=sha256, content_type=declared, data=data, uploaded_by=principal(request).actor
        )
    return json_response({"id": sha256, "url": f"/api/v1/media/{sha256}"}, status=201 if created else 200)


async def download(request: web.Request) -> web.Response:
    sha256 = request.match_info["media_id"]
    if not _SHA256.match(sha256):
        raise NotFound("no such media")
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.POOL].acquire(timeout=settings.db_timeout_s) as conn:
        row = await db_media.fetch(conn, sha256)
    if row is None:
        raise NotFound("no such media")
    return web.Response(
        body=row["data"],
        content_type=row["content_type"],
        headers={"Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{sha256}"'},
    )

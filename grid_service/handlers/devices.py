"""POST /api/v1/users/{username}/device-code: a phone's one-time sign-in code, with the QR code the
workbench shows for the phone's camera (SPEC §13)."""

from __future__ import annotations

import base64
import io
import re
from urllib.parse import urlencode

import segno
from aiohttp import web

from grid_service import keys
from grid_service.errors import MalformedRequest, NotFound, ValidationFailed
from grid_service.handlers.common import json_response, validate
from grid_service.handlers.session import is_https
from grid_service.schemas.devices import DeviceCodePath
from grid_service.sessions import device_code_for_phone

APP_PATH = "/app/"
# A host name or an IPv4 address, or an IPv6 address in brackets, and a port: nothing else goes
# into the address the phone opens.
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")
# What the workbench shows: modules of 6 pixels (41 across for a usual address: 246 pixels) with the
# standard quiet zone, black on white whatever the page's colours, and at least level M so that a
# screen's glare or a smudge still reads.
QR_ERROR = "m"
QR_SVG = {"scale": 6, "border": 4, "dark": "#000", "light": "#fff", "title": "巡查通设备码登录"}


async def make_device_code(request: web.Request) -> web.Response:
    try:
        username = validate(DeviceCodePath, dict(request.match_info), what="path").username
    except ValidationFailed as exc:  # a name no account can have
        raise NotFound(f"no account named {request.match_info['username']!r}", code="unknown_user") from exc
    origin = _origin(request)  # before the code is made: a request refused leaves no code behind
    settings = request.app[keys.SETTINGS]
    issued = await device_code_for_phone(request.app[keys.POOL], username=username, timeout=settings.db_timeout_s)
    sign_in_url = f"{APP_PATH}?{urlencode({'device_code': issued.code})}"
    qr_url = origin + sign_in_url
    svg = qr_svg(qr_url)
    body = {
        "username": username,
        "code": issued.code,
        "expires_at": issued.expires_at.isoformat(),
        "sign_in_url": sign_in_url,
        "qr_url": qr_url,
        "qr_svg": svg,
        "qr_data_url": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
    }
    return json_response(body, status=201)


def qr_svg(text: str) -> str:
    """The QR code of ``text`` as a standalone SVG document: a title, a white square and one path,
    nothing that runs or links (safe as an <img> source and inlined alike)."""
    out = io.BytesIO()
    segno.make_qr(text, error=QR_ERROR).save(
        out, kind="svg", xmldecl=False, svgns=True, svgclass=None, lineclass=None, **QR_SVG
    )
    return out.getvalue().decode()


def _origin(request: web.Request) -> str:
    """Scheme and host as the caller reached the service: the proxy's record of them when the
    service runs behind one (X-Forwarded-Proto and X-Forwarded-Host, first entry: the client's
    side), else the request's own. The phone must open the address the desk used."""
    host = request.host
    if request.app[keys.SETTINGS].behind_proxy:
        forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        host = forwarded or host
    if not HOST.match(host):
        raise MalformedRequest("the request's host is not a host name and port a phone could open", code="bad_host")
    return f"{'https' if is_https(request) else 'http'}://{host}"

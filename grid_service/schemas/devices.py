"""A phone's one-time sign-in code made from the workbench (SPEC §13): the path and the answer of
POST /api/v1/users/{username}/device-code."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from grid_service.schemas.accounts import Username


class DeviceCodePath(BaseModel):
    username: Username = Field(description="the inspector's account the phone signs in as")


class DeviceCodeIssued(BaseModel):
    username: str
    code: str = Field(description="one sign-in within 10 minutes, e.g. K7Q2-9XMD; shown once, only its hash is kept")
    expires_at: dt.datetime
    sign_in_url: str = Field(description="the app's address that signs in with the code, relative to this service")
    qr_url: str = Field(description="the absolute sign-in address the QR code holds, as the caller reached the service")
    qr_svg: str = Field(description="the QR code of qr_url as an SVG document (paths only: no script, no links)")
    qr_data_url: str = Field(description="qr_svg as a data:image/svg+xml;base64 URL, ready for an <img src>")

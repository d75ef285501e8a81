"""Signing in and out (SPEC §13): the bodies and the answer of /api/v1/session."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from grid_service.domain.enums import Role
from grid_service.schemas.types import NO_NUL, _In

Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class SignIn(_In):
    """A username and password (a desk), or a one-time device code (a phone)."""

    username: Username | None = None
    password: Annotated[str, Field(min_length=1, max_length=1024), NO_NUL] | None = None
    device_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$")] | None = Field(
        default=None, description="from grid-service user device-code, e.g. K7Q2-9XMD"
    )

    @model_validator(mode="after")
    def _one_way(self) -> SignIn:
        by_password = self.username is not None and self.password is not None
        if by_password == (self.device_code is not None) or (self.username is None) != (self.password is None):
            raise ValueError("send username and password, or device_code")
        return self


class SignedInUser(BaseModel):
    username: str
    display_name: str | None
    role: Role
    department: str | None
    grids: list[str] = Field(description="the grid prefixes an inspector answers for")


class SessionAnswer(BaseModel):
    user: SignedInUser
    csrf_token: str = Field(description="send as X-CSRF-Token on every write this session makes")
    kind: Literal["password", "device"]
    expires_at: dt.datetime

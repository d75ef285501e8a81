"""Constrained types and shared small models every part of the API uses (one definition each)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="longitude, decimal degrees")]


Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="latitude, decimal degrees")]


# In JSON bodies numbers must be numbers: "126.6" (a string) or true is refused, not coerced.
# (Query parameters are text by nature and keep the lax reading.)
STRICT = Field(strict=True)


# Instants the service stores and computes with: from 1970 to 2100 (PostgreSQL and Python hold far
# more, but a year 1 or 9999 reading is a broken clock, and converting it overflows).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _a_string(value: object) -> object:
    # A number, or a string of digits, would be read as Unix time: only a written date and time.
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise ValueError("must be a date-time string with a UTC offset, e.g. 2026-11-27T10:00:00+08:00")
    return value


def storable_instant(value: dt.datetime) -> dt.datetime:
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("must lie between 1970 and 2100") from exc
    if not EARLIEST <= utc < LATEST:
        raise ValueError("must lie between 1970 and 2100")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_a_string),
    AfterValidator(storable_instant),
    Field(description="RFC 3339 date-time with a UTC offset, between 1970 and 2100"),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("may not contain NUL characters")
    return value


NO_NUL = AfterValidator(_no_nul)  # on every free text: PostgreSQL cannot store a NUL character


ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


Code = Annotated[str, Field(min_length=1, max_length=64)]


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` as numbers, checked."""
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("bbox is minLon,minLat,maxLon,maxLat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError as exc:
        raise ValueError("bbox values must be numbers") from exc
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError("bbox must be minLon,minLat,maxLon,maxLat within -180..180 and -90..90, min before max")
    return min_lon, min_lat, max_lon, max_lat


def _check_bbox(text: str) -> str:
    parse_bbox(text)
    return text


BBox = Annotated[
    str,
    Field(max_length=200, description="minLon,minLat,maxLon,maxLat (WGS84)", examples=["126.60,45.55,126.70,45.62"]),
    AfterValidator(_check_bbox),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointGeometry(_In):
    type: Literal["Point"]
    coordinates: tuple[Annotated[Lon, STRICT], Annotated[Lat, STRICT]]


class CodeName(BaseModel):
    code: str
    name: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] = []


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class GeoPoint(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[float, float]


Note = Annotated[str, Field(max_length=2000), NO_NUL]


PublicReply = Annotated[
    str,
    Field(
        max_length=500,
        description="Words for the public about the case (Open311 status_notes); the note stays internal.",
    ),
    NO_NUL,
]


MediaList = Annotated[list[Sha256], Field(max_length=20)]


def _within_service_years(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        return storable_instant(value)
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError("must lie between 1970 and 2100")
    return value


PeriodEnd = Annotated[AwareDatetime | dt.date, AfterValidator(_within_service_years)]


def period_instant(value: dt.datetime | dt.date, timezone: dt.tzinfo) -> dt.datetime:
    """A period's bound as an instant: a datetime as given, a date as midnight in the city."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), tzinfo=timezone)

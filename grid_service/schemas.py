"""Request and response models: the API's one vocabulary (and the source of its OpenAPI document)."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from grid_service.domain.enums import CaseStatus, Crs, EventType, Light, PendingReason, Role

# The domain's enums are the API's vocabulary too: importable from here by the edges.
__all__ = ["CaseStatus", "Crs", "EventType", "Light", "PendingReason", "Role"]

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


class _ReportFields(_In):
    client_id: ClientId
    category: Code
    location: PointGeometry | None
    crs: Crs = Crs.WGS84
    accuracy_m: Annotated[float, Field(strict=True, ge=0, le=100_000, allow_inf_nan=False)] | None = None
    urgent: StrictBool = False
    description: Annotated[str, Field(max_length=4000), NO_NUL] | None = None
    address: Annotated[str, Field(max_length=500), NO_NUL] | None = None
    media: Annotated[list[Sha256], Field(max_length=20)] = []
    observed_at: Timestamp | None = None


class ReportCreate(_ReportFields):
    location: PointGeometry  # the native API always places a report (the field keeps its place in the hash)


class ForeignReport(_ReportFields):
    """A report that came through a standard other than ours (Open311): it may have no point, only an
    address, and may link a photo kept elsewhere."""

    media_url: Annotated[str, Field(max_length=2000), NO_NUL] | None = None


MAX_BATCH = 500


class ReportBatch(_In):
    reports: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)]


class CodeName(BaseModel):
    code: str
    name: str


class ReportAccepted(BaseModel):
    report_id: str
    case_id: str
    case_no: str
    duplicate: bool
    status: CaseStatus
    pending_reason: PendingReason | None
    grid: CodeName | None
    department: CodeName | None
    deadline_at: dt.datetime | None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] = []


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class BatchResult(BaseModel):
    status_code: int
    report: ReportAccepted | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    results: list[BatchResult]


class LocateQuery(_In):
    lon: Lon
    lat: Lat
    crs: Crs = Crs.WGS84


class GeoPoint(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[float, float]


class ReportRead(BaseModel):
    id: str
    client_id: str
    inspector: str
    duplicate: bool
    location: GeoPoint | None
    crs: Crs
    accuracy_m: float | None
    urgent: bool
    description: str | None
    address: str | None
    media: list[str]
    media_url: str | None
    observed_at: dt.datetime | None
    received_at: dt.datetime


class EventRead(BaseModel):
    seq: int
    type: str
    at: dt.datetime
    actor: str | None
    note: str | None
    data: dict[str, Any]


class CaseSummary(BaseModel):
    id: str
    case_no: str
    status: CaseStatus
    pending_reason: PendingReason | None
    category: CodeName
    urgent: bool
    location: GeoPoint | None
    grid: CodeName | None
    department: CodeName | None
    routing_rule: dict[str, Any] | None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None
    deadline_at: dt.datetime | None
    light: Light | None
    overdue: bool
    rework_count: int
    report_count: int
    updated_at: dt.datetime


class CaseRead(CaseSummary):
    reports: list[ReportRead]
    history: list[EventRead]


class CaseList(BaseModel):
    cases: list[CaseSummary]
    next: str | None


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


class RejectReason(StrEnum):
    NOT_OUR_RESPONSIBILITY = "not_our_responsibility"
    WRONG_LOCATION = "wrong_location"
    INCOMPLETE = "incomplete"
    OTHER = "other"


class AcceptBody(_In):
    note: Note | None = None


class ResolveBody(_In):
    note: Note | None = None
    public_reply: PublicReply | None = None
    media: MediaList = []


class RejectBody(_In):
    reason: RejectReason
    note: Note | None = None


class DispatchBody(_In):
    department: Code
    note: Note | None = None
    public_reply: PublicReply | None = None


class VerifyBody(_In):
    passed: StrictBool
    note: Note | None = None
    public_reply: PublicReply | None = None
    media: MediaList = []


class CancelBody(_In):
    note: Note | None = None
    public_reply: PublicReply | None = None


class CaseListQuery(_In):
    status: Annotated[str, Field(pattern=r"^[a-z_]+(,[a-z_]+)*$")] | None = None
    category: Code | None = None
    department: Code | None = None
    grid: Annotated[str, Field(pattern=r"^[0-9]{1,15}$")] | None = None
    bbox: BBox | None = None
    overdue: bool | None = None
    after: Annotated[str, Field(max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class CategoryRead(BaseModel):
    code: str
    name: str
    class_code: str | None
    limit_hours: float
    urgent_limit_hours: float | None
    clock: Literal["working", "natural"]
    duplicate_radius_m: float
    duplicate_window_hours: float


class CategoryList(BaseModel):
    categories: list[CategoryRead]


class DepartmentList(BaseModel):
    departments: list[CodeName]


class CellLocation(BaseModel):
    code: str
    name: str
    version: int | None
    snapped: bool
    distance_m: float
    location: GeoPoint


class CaseIdPath(BaseModel):
    case_id: str


class Health(BaseModel):
    status: str
    details: dict[str, Any] = {}


class MediaStored(BaseModel):
    id: str
    url: str


class QueueQuery(_In):
    after: Annotated[str, Field(max_length=32)] | None = None
    wait: Annotated[float, Field(ge=0, le=60)] = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    department: Code | None = None  # admin only: whose queue to read


class QueueCase(CaseSummary):
    seq: int  # the case's latest change in this answer


class QueuePage(BaseModel):
    cases: list[QueueCase]
    cursor: str


class FeedQuery(_In):
    bbox: BBox | None = None
    category: Code | None = None
    department: Code | None = None  # a department token always gets its own department's cases
    after: Annotated[int, Field(ge=0, description="resume after this event id (Last-Event-ID wins)")] | None = None


class MapCasesQuery(_In):
    bbox: BBox | None = None
    status: Literal["open", "all"] = "open"


class GridsQuery(_In):
    bbox: BBox | None = None


class FeedEventRead(BaseModel):
    seq: int
    type: str
    at: dt.datetime


class MapCaseProperties(BaseModel):
    """A case as the map and the feed carry it; names come from the catalogue and the cell layer."""

    id: str
    case_no: str
    status: CaseStatus
    pending_reason: PendingReason | None
    category: str
    department: str | None
    grid: str | None = Field(description="the cell's code")
    urgent: bool
    created_at: dt.datetime
    deadline_at: dt.datetime | None
    light: Light | None
    overdue: bool
    event: FeedEventRead | None = Field(default=None, description="in the live feed: the event this is")


class CaseFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: GeoPoint
    properties: MapCaseProperties


class CaseFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[CaseFeature]
    seq: int = Field(description="the live feed continues after this event id (GET /api/v1/feed?after=)")


class CellProperties(BaseModel):
    code: str
    name: str
    open_cases: int


class CellFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS84")
    properties: CellProperties


class CellFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[CellFeature]


def _within_service_years(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        return storable_instant(value)
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError("must lie between 1970 and 2100")
    return value


PeriodEnd = Annotated[AwareDatetime | dt.date, AfterValidator(_within_service_years)]


class StatsQuery(_In):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: PeriodEnd | None = Field(
        default=None,
        alias="from",
        description="start of the period (a date is midnight in the city); default: 30 days before to",
    )
    end: PeriodEnd | None = Field(
        default=None,
        alias="to",
        description="end of the period, excluded (a date is midnight in the city); default: now",
    )
    group_by: Literal["department", "category", "street", "grid"] = "department"


class StatsGroup(BaseModel):
    key: str | None = Field(description="department or category code, street (9-digit grid prefix) or cell code")
    name: str | None
    reported: int
    dispatched: int
    closed: int
    closed_on_time: int
    due: int
    overdue_open: int
    rejected: int
    reworked: int
    closure_rate: float | None = Field(description="closed / due")
    on_time_rate: float | None = Field(description="closed_on_time / due")
    rework_rate: float | None = Field(description="reworked / closed")
    median_hours_to_close: float | None


class StatsAnswer(BaseModel):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime = Field(alias="to")
    group_by: str
    groups: list[StatsGroup]

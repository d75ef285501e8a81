"""The catalogue, cells, health, photos, and the command center's map, feed and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grid_service.domain.enums import CaseStatus, Crs, Light, PendingReason, Source
from grid_service.schemas.types import BBox, Code, CodeName, GeoPoint, Lat, Lon, PeriodEnd, Timestamp, _In


class LocateQuery(_In):
    lon: Lon
    lat: Lat
    crs: Crs = Crs.WGS84


class ConditionRead(BaseModel):
    code: str
    filing: str
    closing: str
    limit_hours: float | None
    urgent_limit_hours: float | None


class CategoryRead(BaseModel):
    code: str
    name: str
    class_code: str | None
    limit_hours: float
    urgent_limit_hours: float | None
    clock: Literal["working", "natural"]
    duplicate_radius_m: float
    duplicate_window_hours: float
    conditions: list[ConditionRead] = Field(description="the filing standard's conditions (立案条件) of the category")
    default_condition: str | None = Field(description="the condition auto filing takes")
    acceptance_hours: float | None = Field(
        description="the sign-for limit (签收) of its dispatches, working hours; null: disputes.toml's"
    )


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


class Health(BaseModel):
    status: str
    details: dict[str, Any] = {}


class MediaStored(BaseModel):
    id: str
    url: str


class MediaQuery(_In):
    """Where and when the photo was taken, as the phone says at that moment (all optional; a point
    is both coordinates, WGS 84)."""

    lon: Lon | None = None
    lat: Lat | None = None
    accuracy_m: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    taken_at: Timestamp | None = Field(default=None, description="the device's clock when it was taken")

    @model_validator(mode="after")
    def _a_point_is_both(self) -> MediaQuery:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("send lon and lat together")
        return self


class FeedQuery(_In):
    bbox: BBox | None = None
    category: Code | None = None
    department: Code | None = None  # a department token always gets its own department's cases
    after: Annotated[int, Field(ge=0, description="resume after this event id (Last-Event-ID wins)")] | None = None


class MapCasesQuery(_In):
    bbox: BBox | None = None
    status: Literal["open", "all"] = "open"
    finished_since: Timestamp | None = Field(
        default=None,
        description="the open cases and those finished (closed, cancelled, voided) at or after this instant, at "
        "most 2 days back (the wall screen asks for its city's midnight); with status=all every case is there",
    )


class GridsQuery(_In):
    bbox: BBox | None = None


class FeedEventRead(BaseModel):
    seq: int
    type: str
    at: dt.datetime


class MapCheck(BaseModel):
    kind: str
    label: str = Field(description="the city's word for it (labels.toml)")
    assigned_to: str | None = Field(description="the inspector out on it; null: in the receivers' queue")
    due_at: dt.datetime | None = Field(description="the task's limit")
    overdue: bool = Field(description="past its limit")


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
    warn_at: dt.datetime | None = Field(description="when the case turns yellow (80 % of its limit used)")
    light: Light | None
    overdue: bool
    step_due_at: dt.datetime | None = Field(description="reported or pending dispatch: when its step's limit runs out")
    step_warn_at: dt.datetime | None = Field(description="…and when it turns yellow (80 % of the step's limit)")
    check: MapCheck | None = Field(description="the check an inspector is out on (核实 before filing, 核查 after)")
    source: Source
    open_request: Literal["extension", "suspension", "appeal"] | None = Field(
        description="its open request, waiting for the dispatcher or the shift lead"
    )
    supervision_due_at: dt.datetime | None = Field(description="under 督办: when the department's answer is due")
    suspended_until: dt.datetime | None = Field(description="suspended: when it resumes by itself")
    finished_at: dt.datetime | None = Field(
        default=None,
        description="closed, cancelled or voided: when (null while open; the map snapshot carries it, the feed "
        "does not)",
    )
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


class PeriodQuery(_In):
    """A period as the statistics take it: from, and to (excluded), by default the 30 days to now."""

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


class StatsQuery(PeriodQuery):
    group_by: Literal["department", "category", "street", "grid", "source", "inspector", "receiver", "dispatcher"] = (
        "department"
    )
    adjusted: bool = Field(
        default=False,
        description="按批准期: judge by the deadline in force (approved extensions, suspensions) and count "
        "approved timeout appeals as on time; default 按原期, by the deadline of the last dispatch",
    )


class StatsGroup(BaseModel):
    key: str | None = Field(description="department or category code, street (9-digit grid prefix) or cell code")
    name: str | None
    reported: int = Field(description="上报数: cases created in the period")
    dispatched: int = Field(description="派遣数: cases dispatched in the period")
    filed: int = Field(description="立案数: the cohort, cases filed in the period")
    closed: int = Field(description="结案数: cohort cases closed by the period's end")
    closed_on_time: int = Field(description="按期结案数: of those, last resolved by their deadline")
    due: int = Field(description="应结案数: cohort cases whose deadline fell before the end, or closed by then")
    overdue_open: int
    rejected: int
    reworked: int = Field(description="返工数: due cohort cases reworked at least once")
    closure_rate: float | None = Field(description="结案率: closed / due")
    on_time_rate: float | None = Field(description="按期结案率: closed_on_time / due")
    rework_rate: float | None = Field(description="返工率: reworked / due")
    median_hours_to_close: float | None
    scores: dict[str, float | None] = Field(
        description="evaluation.toml's composite scores by code (default: composite, 综合评价)"
    )


class InspectorGroup(BaseModel):
    key: str = Field(description="the inspector's token name")
    name: str
    reported: int = Field(description="上报数")
    valid: int = Field(description="有效上报数: reports whose case was filed and not voided")
    valid_rate: float | None = Field(description="有效上报率: valid / reported")
    check_report_done: int
    check_report_on_time_rate: float | None = Field(description="按时核实率 (label of check_report)")
    check_result_done: int
    check_result_on_time_rate: float | None = Field(description="按时核查率 (label of check_result)")
    self_handled: int = Field(description="自处置数")


class ReceiverGroup(BaseModel):
    key: str = Field(description="the receiver's token name")
    name: str
    accepted: int = Field(description="受理数: reported cases filed or voided")
    filed: int
    filed_on_time_rate: float | None = Field(description="按时立案率: filed within the 上报→受理 limit / filed")


class DispatcherGroup(BaseModel):
    key: str = Field(description="the dispatcher's token name")
    name: str
    dispatched: int = Field(description="派遣数")
    dispatched_on_time_rate: float | None = Field(description="按时派遣率: within the 立案→派遣 limit / dispatched")
    dispatch_accuracy: float | None = Field(
        description="准确派遣率: 1 - dispatches returned and ruled the dispatcher's fault / dispatched"
    )


class StatsAnswer(BaseModel):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime = Field(alias="to")
    group_by: str
    adjusted: bool = Field(description="按批准期 (true) or 按原期 (false)")
    groups: list[StatsGroup] | list[InspectorGroup] | list[ReceiverGroup] | list[DispatcherGroup]
    headings: dict[str, str] = Field(description="what each figure is called, in the city's words")

"""Cases as read, the actions on them, case lists and the department queue."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool

from grid_service.domain.enums import CaseStatus, Crs, Light, PendingReason, Source
from grid_service.schemas.disputes import Stated
from grid_service.schemas.tasks import CheckRead
from grid_service.schemas.types import BBox, Code, CodeName, GeoPoint, MediaList, Note, PeriodEnd, PublicReply, _In


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
    photos: list[PhotoCapture] = Field(description="each photo with where and when the phone took it")
    media_url: str | None
    observed_at: dt.datetime | None
    received_at: dt.datetime
    source: Source


class PhotoCapture(BaseModel):
    id: str
    location: GeoPoint | None
    accuracy_m: float | None
    taken_at: dt.datetime | None = Field(description="the device's clock")
    received_at: dt.datetime | None = Field(description="the server's, when the photo arrived")


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
    step_due_at: dt.datetime | None = Field(
        description="reported or pending dispatch: when its step's limit (上报→受理, 立案→派遣) runs out"
    )
    step_overdue: bool
    rework_count: int
    report_count: int
    updated_at: dt.datetime
    source: Source = Field(description="where the case was first reported from (its first report's source)")
    condition: str | None = Field(description="the filing standard's condition (立案条件) it was filed under")
    resolution: Literal["handled", "self_handled"] | None = Field(
        description="how a closed case was closed: handled by its department, or self-handled by an inspector"
    )
    original_deadline_at: dt.datetime | None = Field(
        description="the deadline its dispatch set; deadline_at is the one in force (extensions, suspensions)"
    )
    accept_due_at: dt.datetime | None = Field(description="dispatched: the department signs for it (签收) by then")
    suspended_until: dt.datetime | None = Field(description="suspended: when it resumes by itself")
    open_request: dict[str, Any] | None = Field(
        description="its open request, if any: {kind: extension|suspension|appeal, by, at, ...}"
    )
    returns: int = Field(description="times a department returned it (回退)")
    extensions: int = Field(description="extensions approved")
    ruled_department: str | None = Field(description="the department a ruling (仲裁) bound to it")
    supervision_due_at: dt.datetime | None = Field(description="when the department's answer to its 督办 is due")
    candidates: list[CodeName] = Field(
        default_factory=list,
        description="in case lists and a case read: the departments the routing rules name for its category and "
        "cell, the most fitting first (what a dispatcher chooses among)",
    )


class CaseRead(CaseSummary):
    checks: list[CheckRead] = Field(description="the case's check tasks (核实, 核查), oldest first")
    reports: list[ReportRead]
    history: list[EventRead]


class CaseList(BaseModel):
    cases: list[CaseSummary]
    next: str | None


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
    """A return (回退) to the dispatcher: a reason and a note, with evidence photos if any (SPEC §11)."""

    reason: RejectReason
    note: Stated
    media: MediaList = []


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


class FileBody(_In):
    """A receiver files a reported case: it is then routed as intake routes."""

    condition: Code | None = Field(
        default=None, description="the filing standard's condition (required when the category has conditions)"
    )
    category: Code | None = Field(default=None, description="the corrected category, when the report's was wrong")
    urgent: StrictBool | None = None
    note: Note | None = None


class RequestCheckBody(_In):
    note: Note | None = None


class VoidReason(StrEnum):
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    OUT_OF_SCOPE = "out_of_scope"
    INVALID = "invalid"


class VoidBody(_In):
    reason: VoidReason
    note: Note | None = None
    public_reply: PublicReply | None = None


class CaseListQuery(_In):
    status: Annotated[str, Field(pattern=r"^[a-z_]+(,[a-z_]+)*$")] | None = None
    category: Code | None = None
    department: Code | None = None
    grid: Annotated[str, Field(pattern=r"^[0-9]{1,15}$")] | None = None
    bbox: BBox | None = None
    overdue: bool | None = None
    open_request: Literal["extension", "suspension", "appeal", "any"] | None = Field(
        default=None, description="only cases with an open request of this kind, or of any (an appeal's case is closed)"
    )
    case_no: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")] | None = Field(
        default=None, description="the case with this number (案件编号)"
    )
    light: Light | None = Field(
        default=None, description="cases showing this light now (a deadline's, or a step's while reported or pending)"
    )
    source: Source | None = None
    since: PeriodEnd | None = Field(default=None, description="created at or after (a date is midnight in the city)")
    until: PeriodEnd | None = Field(default=None, description="created before (a date is midnight in the city)")
    supervised: bool | None = Field(default=None, description="true: only cases whose 督办 reply is due")
    reworked: bool | None = Field(default=None, description="true: only cases sent back for rework at least once")
    after: Annotated[str, Field(max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class CaseIdPath(BaseModel):
    case_id: str


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

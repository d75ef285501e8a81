"""Reports in and acknowledgements out: POST /api/v1/reports and /reports/batch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, model_validator

from grid_service.domain.enums import CaseStatus, Crs, PendingReason, Source
from grid_service.schemas.types import (
    NO_NUL,
    ClientId,
    Code,
    CodeName,
    ErrorBody,
    PointGeometry,
    Sha256,
    Timestamp,
    _In,
)


class _ReportFields(_In):
    client_id: ClientId
    category: Code
    location: PointGeometry | None
    crs: Crs = Crs.WGS84
    accuracy_m: Annotated[float, Field(strict=True, ge=0, le=100_000, allow_inf_nan=False)] | None = None
    urgent: StrictBool = False
    description: Annotated[str, Field(max_length=4000), NO_NUL] | None = None
    address: Annotated[str, Field(max_length=500), NO_NUL] | None = None
    # A tuple: its default is shared, where a list default is deep-copied for every report parsed.
    media: Annotated[tuple[Sha256, ...], Field(max_length=20)] = ()
    observed_at: Timestamp | None = None
    # Where it came from. Left out: the token's own (an inspector's or a channel's); a receiver
    # registering a phoned-in report gives hotline or leader.
    source: Source | None = None
    # Self-disposal (自处置): an inspector fixed it on the spot; media are the before photos,
    # after_media the after ones, both required. The case is created closed.
    self_handled: StrictBool = False
    after_media: Annotated[tuple[Sha256, ...], Field(max_length=20)] = ()
    # The filing standard's condition (立案条件) the reporter saw, where the category has them; a report
    # filed at once takes it (and its time limit) instead of the category's default condition.
    condition: Code | None = None

    @model_validator(mode="after")
    def _photos_of_self_disposal(self) -> _ReportFields:
        if self.self_handled and not (self.media and self.after_media):
            raise ValueError("a self-handled report carries before (media) and after (after_media) photos")
        if self.after_media and not self.self_handled:
            raise ValueError("after_media belong to a self-handled report")
        return self


class ReportCreate(_ReportFields):
    location: PointGeometry  # the native API always places a report (the field keeps its place in the hash)


class ForeignReport(_ReportFields):
    """A report that came through a standard other than ours (Open311): it may have no point, only an
    address, and may link a photo kept elsewhere."""

    media_url: Annotated[str, Field(max_length=2000), NO_NUL] | None = None


MAX_BATCH = 500


class ReportBatch(_In):
    reports: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)]


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


class BatchResult(BaseModel):
    status_code: int
    report: ReportAccepted | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    results: list[BatchResult]

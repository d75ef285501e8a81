"""Check tasks (SPEC §10): the caller's list, long-polling like the department queue, and completing one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from grid_service.domain.enums import Crs, Light, TaskKind, TaskOutcome, TaskStatus
from grid_service.schemas.types import Note, PointGeometry, Sha256, _In


class TaskQuery(_In):
    status: Literal["open", "done"] | None = None
    after: Annotated[str, Field(max_length=32)] | None = None
    wait: Annotated[float, Field(ge=0, le=60)] = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    inspector: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="admin only: whose list to read (default: the receivers' queue)"
    )


class CheckRead(BaseModel):
    id: str
    kind: TaskKind
    label: str = Field(description="what people call this kind of check here (labels.toml)")
    case_id: str
    case_no: str
    status: TaskStatus
    assigned_to: str | None = Field(description="the inspector sent; null: in the receivers' queue")
    due_at: dt.datetime
    created_at: dt.datetime
    reassigned: bool
    outcome: TaskOutcome | None
    light: Light | None = Field(description="open: green, yellow from 80 % of its limit, red past it")
    overdue: bool


class TaskRead(CheckRead):
    seq: int = Field(description="the task's latest change in this answer")


class TaskPage(BaseModel):
    tasks: list[TaskRead]
    cursor: str


class TaskIdPath(BaseModel):
    task_id: str


class CompleteTaskBody(_In):
    outcome: TaskOutcome
    note: Note | None = None
    media: Annotated[tuple[Sha256, ...], Field(min_length=1, max_length=20)] = Field(
        description="at least one photo taken on the spot"
    )
    location: PointGeometry = Field(description="where the check was made (within task_distance_m of the case)")
    crs: Crs = Crs.WGS84

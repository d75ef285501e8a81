"""The disputes around a case's deadline (SPEC §11): the bodies of their requests and decisions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool

from grid_service.schemas.types import NO_NUL, Code, MediaList, Note, Timestamp, _In

# A note a dispute must carry: its reason in words, not blank.
Stated = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S"), NO_NUL]
Hours = Annotated[float, Field(gt=0, le=24 * 366, description="hours on the case's clock")]


class RuleBody(_In):
    """The shift lead's binding ruling on a case returned too often (仲裁)."""

    department: Code = Field(description="the department that handles it; it may not return it again")
    fault: Literal["dispatcher", "department", "none"] = Field(description="whose fault the returns were")
    note: Stated


class ExtensionBody(_In):
    reason: Stated
    hours: Hours | None = Field(default=None, description="more time asked for; default: one more original limit")


class DecisionBody(_In):
    approve: StrictBool
    note: Note | None = None


class SuspensionBody(_In):
    until: Timestamp = Field(description="when it resumes by itself; at most a year away")
    reason: Literal["funding", "season", "engineering", "legal", "other"]
    note: Stated


class ResumeBody(_In):
    note: Note | None = None


class SuperviseBody(_In):
    level: Literal["urge", "supervise", "listed"] = Field(description="催办, 督办 or 挂牌督办")
    note: Stated
    reply_hours: Hours = Field(description="working hours the department has to answer")


class ReplyBody(_In):
    note: Stated


class AppealBody(_In):
    """A department's appeal of a case closed late (超时申诉), with its evidence."""

    note: Stated
    media: MediaList = []

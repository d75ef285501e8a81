"""The monthly bulletin's query and answer (SPEC §12)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from grid_service.schemas.types import _In


class MonthlyQuery(_In):
    month: Annotated[str, Field(pattern=r"^(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])$", examples=["2026-12"])]


class BulletinSection(BaseModel):
    title: str = Field(description="the section's heading, in Chinese")
    rows: list[dict[str, Any]]


class MonthlyBulletin(BaseModel):
    month: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    title: str
    sections: dict[str, BulletinSection] = Field(
        description="source, department, street, category (the cohort, raw and adjusted), top_categories "
        "(with 环比 and 同比), others (self-disposals, extensions, suspensions, resumes, approved appeals)"
    )

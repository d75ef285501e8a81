"""The event catalogue of categories.toml (SPEC §4, §10): each category's limits, clock and
duplicate search, and the conditions of the city's filing standard (立结案标准)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from grid_service.configuration.model import Strict
from grid_service.domain.deadlines import Clock

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]


class ConditionConfig(Strict):
    """One line of the city's filing standard (立结案标准) for a category."""

    code: Code
    filing: str = Field(min_length=1, max_length=500, description="立案条件: what makes a case of it")
    closing: str = Field(min_length=1, max_length=500, description="结案条件: what closes it")
    limit_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    urgent_limit_hours: float | None = Field(default=None, gt=0, le=24 * 366)


class CategoryConfig(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    code: Code
    name: str = Field(min_length=1)
    class_code: str | None = None
    limit_hours: float = Field(gt=0, le=24 * 366)
    urgent_limit_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    clock: Clock
    duplicate_radius_m: float = Field(default=0, ge=0, le=10_000)
    duplicate_window_hours: float = Field(default=0, ge=0, le=24 * 366)
    # [[category.condition]] in categories.toml; filing names one when there are any.
    conditions: tuple[ConditionConfig, ...] = Field(default=(), alias="condition")
    default_condition: Code | None = None  # what auto filing takes
    # The sign-for limit (签收) of its dispatches in working hours; None: disputes.toml's
    acceptance_hours: float | None = Field(default=None, gt=0, le=24 * 31)

    @model_validator(mode="after")
    def _known_default(self) -> CategoryConfig:
        codes = [c.code for c in self.conditions]
        if len(set(codes)) != len(codes):
            raise ValueError("condition codes must be unique")
        if self.default_condition is not None and self.default_condition not in codes:
            raise ValueError(f"default_condition {self.default_condition!r} is not one of its conditions")
        if self.conditions and self.default_condition is None:
            raise ValueError("a category with conditions needs a default_condition (auto filing takes it)")
        return self

    def condition(self, code: str | None) -> ConditionConfig | None:
        return next((c for c in self.conditions if c.code == code), None)

    def limit_for(self, urgent: bool, condition: ConditionConfig | None = None) -> float:
        """Hours allowed: the condition's when it sets them (limits are per condition in real tables)."""
        if condition is not None and condition.limit_hours is not None:
            if urgent and condition.urgent_limit_hours:
                return condition.urgent_limit_hours
            return condition.limit_hours
        return self.urgent_limit_hours if urgent and self.urgent_limit_hours else self.limit_hours

"""filing.toml (SPEC §10): which reports a receiver reviews before they become cases, and the step limits.

Optional. Without it, or for a source it leaves out, the defaults are the supervision center's
usual practice: an inspector's own reports are filed at once (`auto`), every other source waits
for a receiver (`review`); reports from the public, the hotline and sensors are checked by an
inspector first (`check_first`). An override sets either for one source and category.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from grid_service.configuration.model import Strict
from grid_service.domain.enums import Source

Policy = Literal["auto", "review"]
REVIEW: Policy = "review"
DEFAULT_POLICY: dict[Source, Policy] = {source: REVIEW for source in Source} | {Source.INSPECTOR: "auto"}
CHECKED_FIRST = frozenset({Source.PUBLIC, Source.HOTLINE, Source.SENSOR})
Minutes = Annotated[float, Field(gt=0, le=60 * 24 * 31)]


class SourcePolicy(Strict):
    policy: Policy | None = None
    check_first: bool | None = None


class Override(SourcePolicy):
    source: Source
    category: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]


class Steps(Strict):
    """Step limits, in natural minutes, and how near a check must be done."""

    accept_minutes: Minutes = 15  # 上报→受理: reported until filed or voided
    dispatch_minutes: Minutes = 15  # 立案→派遣: pending dispatch until dispatched
    task_minutes: Minutes = 30  # a check task
    task_distance_m: Annotated[float, Field(gt=0, le=10_000)] = 100  # a task's photo, at most this far

    @property
    def minutes(self) -> dict[str, float]:
        """The step limits by step name (domain/steps.py)."""
        return {"accept": self.accept_minutes, "dispatch": self.dispatch_minutes, "task": self.task_minutes}


class FilingConfig(Strict):
    source: dict[Source, SourcePolicy] = Field(default_factory=dict)
    override: tuple[Override, ...] = ()
    steps: Steps = Steps()

    def _choice(self, source: Source, category: str) -> tuple[SourcePolicy, SourcePolicy | None]:
        found = next((o for o in self.override if o.source == source and o.category == category), None)
        return self.source.get(source, SourcePolicy()), found

    def policy_for(self, source: Source, category: str) -> Policy:
        general, override = self._choice(source, category)
        if override is not None and override.policy is not None:
            return override.policy
        return general.policy or DEFAULT_POLICY[source]

    def check_first(self, source: Source, category: str) -> bool:
        general, override = self._choice(source, category)
        if override is not None and override.check_first is not None:
            return override.check_first
        return general.check_first if general.check_first is not None else source in CHECKED_FIRST

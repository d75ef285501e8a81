"""The configuration as one worker holds it in memory: an immutable snapshot read from the database."""

from __future__ import annotations

from dataclasses import dataclass, field

from geo.grid import Grid
from grid_service.configuration.catalogue import CategoryConfig
from grid_service.configuration.disputes import DisputesConfig
from grid_service.configuration.evaluation import EvaluationConfig
from grid_service.configuration.files import DepartmentConfig
from grid_service.configuration.filing import FilingConfig
from grid_service.configuration.people import InspectorsConfig, LabelsConfig
from grid_service.domain.calendar import WorkingCalendar
from grid_service.domain.escalation import Rung
from grid_service.domain.routing import Rule


@dataclass(frozen=True)
class ConfigSnapshot:
    generation: int
    departments: dict[str, DepartmentConfig]  # active ones
    categories: dict[str, CategoryConfig]  # active ones
    rules: tuple[Rule, ...]
    calendar: WorkingCalendar
    grid: Grid
    grid_version: int | None
    escalation: tuple[Rung, ...] = ()  # the escalation ladder, rung 1 first
    filing: FilingConfig = field(default_factory=FilingConfig)
    inspectors: InspectorsConfig = field(default_factory=InspectorsConfig)  # the file's, and the accounts'
    people: str = ""  # db/config_store.people_stamp when read: the accounts behind ``inspectors``
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    disputes: DisputesConfig = field(default_factory=DisputesConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)

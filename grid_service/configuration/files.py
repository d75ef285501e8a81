"""The configuration directory (SPEC §4): TOML files and grids, validated as a whole.

``read_config_dir`` reads and checks everything and returns a ``ConfigBundle``
or raises ``ConfigError`` listing every problem, each naming its file and item
(``routing.toml: rule 3: unknown department 'parks'``). Nothing here touches
the database; ``grid_service.db.config_store`` loads a bundle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator

from geo.grid import Cell
from geo.io import GridFileError, cells_from_geojson, read_geojson
from grid_service.configuration.catalogue import CategoryConfig, Code
from grid_service.configuration.disputes import DisputesConfig
from grid_service.configuration.evaluation import EvaluationConfig
from grid_service.configuration.filing import FilingConfig
from grid_service.configuration.model import Strict
from grid_service.configuration.people import InspectorsConfig, LabelsConfig
from grid_service.domain.calendar import OFFICIAL_SOURCES, WorkingCalendar, WorkingPeriod
from grid_service.domain.deadlines import Clock
from grid_service.domain.routing import WILDCARD

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: dict[Weekday, int] = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


class DepartmentConfig(Strict):
    code: Code
    name: str = Field(min_length=1)


class RuleConfig(Strict):
    category: str = Field(min_length=1)
    area: str = Field(default="", pattern=r"^[0-9]{0,15}$")
    department: Code


class EscalationConfig(Strict):
    after_hours: float = Field(ge=0, le=24 * 366, description="hours past the deadline, on the rung's clock")
    to: str = Field(min_length=1, max_length=200, description="the level the case goes up to")
    clock: Clock = Field(default=Clock.NATURAL, description="what after_hours counts: natural or working hours")


class CalendarConfig(Strict):
    timezone: str
    working_hours: list[tuple[str, str]] = Field(min_length=1)
    # At least one: with no working weekday there is no working time to count a working-clock limit on.
    working_weekdays: list[Weekday] = Field(min_length=1)
    official_holidays: Literal["CN"] | None = None
    holidays: list[dt.date] = Field(default_factory=list)
    extra_working_days: list[dt.date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("working_hours")
    @classmethod
    def _clock_times(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for start, end in value:
            try:
                starts, ends = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
            except ValueError as exc:
                raise ValueError(f"times must be HH:MM, got {start!r}–{end!r}") from exc
            if ends <= starts:
                raise ValueError(f"period {start}–{end} must end after it starts")
        return value

    def periods(self) -> tuple[WorkingPeriod, ...]:
        return tuple(WorkingPeriod(dt.time.fromisoformat(s), dt.time.fromisoformat(e)) for s, e in self.working_hours)

    def build(self) -> WorkingCalendar:
        source = OFFICIAL_SOURCES[self.official_holidays]() if self.official_holidays else None
        return WorkingCalendar(
            timezone=ZoneInfo(self.timezone),
            periods=self.periods(),
            working_weekdays=frozenset(WEEKDAYS[d] for d in self.working_weekdays),
            official=source,
            holidays=frozenset(self.holidays),
            extra_working_days=frozenset(self.extra_working_days),
        )


_M = TypeVar("_M", bound=Strict)
_Optional = TypeVar("_Optional", InspectorsConfig, LabelsConfig, DisputesConfig, EvaluationConfig)


class ConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class ConfigBundle:
    source: str
    departments: tuple[DepartmentConfig, ...]
    categories: tuple[CategoryConfig, ...]
    rules: tuple[RuleConfig, ...]
    calendar: CalendarConfig
    cells: tuple[Cell, ...]
    grid_digest: str  # sha256 of the grid files, so an unchanged grid does not make a new version
    escalation: tuple[EscalationConfig, ...] = ()  # rung 1, 2, ... in order
    filing: FilingConfig = field(default_factory=FilingConfig)
    inspectors: InspectorsConfig = field(default_factory=InspectorsConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    disputes: DisputesConfig = field(default_factory=DisputesConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path.name}: file is missing")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path.name}: cannot parse TOML ({exc})")
    return {}


def _items(data: dict[str, Any], table: str, model: type[_M], file: str, problems: list[str]) -> list[_M]:
    raw = data.get(table, [])
    if not isinstance(raw, list):
        problems.append(f"{file}: [[{table}]] must be an array of tables")
        return []
    unknown = set(data) - {table}
    if unknown:
        problems.append(f"{file}: unknown top-level keys {sorted(unknown)}")
    items: list[_M] = []
    for index, entry in enumerate(raw, start=1):
        label = f"{table} {index}" + (f" ({entry.get('code')})" if isinstance(entry, dict) and "code" in entry else "")
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "(item)"
                problems.append(f"{file}: {label}: {where}: {err['msg']}")
    return items


def _unique(items: list[Any], key: str, file: str, table: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        value = getattr(item, key)
        if value in seen:
            problems.append(f"{file}: {table} {index}: duplicate {key} {value!r}")
        seen.add(value)


def read_config_dir(directory: Path, *, grid_crs: str | None = None) -> ConfigBundle:
    """Read and validate the whole configuration directory; raise ConfigError with every problem."""
    problems: list[str] = []
    if not directory.is_dir():
        raise ConfigError([f"{directory}: not a directory"])

    departments = _items(
        _read_toml(directory / "departments.toml", problems),
        "department",
        DepartmentConfig,
        "departments.toml",
        problems,
    )
    categories = _items(
        _read_toml(directory / "categories.toml", problems), "category", CategoryConfig, "categories.toml", problems
    )
    rules = _items(_read_toml(directory / "routing.toml", problems), "rule", RuleConfig, "routing.toml", problems)
    _unique(departments, "code", "departments.toml", "department", problems)
    _unique(categories, "code", "categories.toml", "category", problems)

    department_codes = {d.code for d in departments}
    category_codes = {c.code for c in categories}
    seen_rules: set[tuple[str, str]] = set()
    for index, rule in enumerate(rules, start=1):
        if rule.department not in department_codes:
            problems.append(f"routing.toml: rule {index}: unknown department {rule.department!r}")
        if rule.category != WILDCARD and rule.category not in category_codes:
            problems.append(f"routing.toml: rule {index}: unknown category {rule.category!r}")
        if (rule.category, rule.area) in seen_rules:
            problems.append(f"routing.toml: rule {index}: duplicate rule for ({rule.category!r}, {rule.area!r})")
        seen_rules.add((rule.category, rule.area))

    escalation: list[EscalationConfig] = []
    if (directory / "escalation.toml").exists():  # optional: without it nothing escalates
        escalation = _items(
            _read_toml(directory / "escalation.toml", problems), "level", EscalationConfig, "escalation.toml", problems
        )
        for index, (lower, higher) in enumerate(itertools.pairwise(escalation), start=2):
            if higher.after_hours <= lower.after_hours:
                problems.append(f"escalation.toml: level {index}: after_hours must grow from one level to the next")

    filing = _read_filing(directory / "filing.toml", category_codes, problems)
    inspectors = _read_optional(directory / "inspectors.toml", InspectorsConfig, problems)
    labels = _read_optional(directory / "labels.toml", LabelsConfig, problems)
    disputes = _read_optional(directory / "disputes.toml", DisputesConfig, problems)
    evaluation = _read_optional(directory / "evaluation.toml", EvaluationConfig, problems)
    names = [i.name for i in inspectors.inspector]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"inspectors.toml: inspector {name!r} is listed more than once")

    calendar: CalendarConfig | None = None
    try:
        calendar = CalendarConfig.model_validate(_read_toml(directory / "calendar.toml", problems))
        calendar.build()
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(file)"
            problems.append(f"calendar.toml: {where}: {err['msg']}")
    except ValueError as exc:
        problems.append(f"calendar.toml: {exc}")

    cells, digest = _read_grids(directory / "grids", grid_crs, problems)
    if problems or calendar is None:
        raise ConfigError(problems)
    return ConfigBundle(
        source=str(directory.resolve()),
        departments=tuple(departments),
        categories=tuple(categories),
        rules=tuple(rules),
        calendar=calendar,
        cells=tuple(cells),
        grid_digest=digest,
        escalation=tuple(escalation),
        filing=filing,
        inspectors=inspectors,
        labels=labels,
        disputes=disputes,
        evaluation=evaluation,
    )


def _read_optional(path: Path, model: type[_Optional], problems: list[str]) -> _Optional:
    """An optional file of one model (inspectors.toml, labels.toml, disputes.toml, evaluation.toml): its defaults
    when it is not there."""
    if not path.exists():
        return model()
    try:
        return model.model_validate(_read_toml(path, problems))
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(file)"
            problems.append(f"{path.name}: {where}: {err['msg']}")
        return model()


def _read_filing(path: Path, category_codes: set[str], problems: list[str]) -> FilingConfig:
    if not path.exists():  # optional: the defaults of configuration/filing.py
        return FilingConfig()
    try:
        filing = FilingConfig.model_validate(_read_toml(path, problems))
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(file)"
            problems.append(f"filing.toml: {where}: {err['msg']}")
        return FilingConfig()
    for index, override in enumerate(filing.override, start=1):
        if override.category not in category_codes:
            problems.append(f"filing.toml: override {index}: unknown category {override.category!r}")
    return filing


def _read_grids(directory: Path, crs: str | None, problems: list[str]) -> tuple[list[Cell], str]:
    files = sorted(directory.glob("*.geojson")) if directory.is_dir() else []
    if not files:
        problems.append("grids/: no *.geojson grid file")
        return [], ""
    digest = hashlib.sha256()
    cells: list[Cell] = []
    owner: dict[str, str] = {}
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        try:
            file_cells = cells_from_geojson(read_geojson(path), source=f"grids/{path.name}", crs=crs)
        except GridFileError as exc:
            problems.extend(f"grids/{path.name}: {p}" for p in exc.problems)
            continue
        for cell in file_cells:
            if cell.code in owner:
                problems.append(
                    f"grids/{path.name}: cell {cell.code}: duplicate cell code (also in {owner[cell.code]})"
                )
            owner[cell.code] = f"grids/{path.name}"
        cells.extend(file_cells)
    return cells, digest.hexdigest()

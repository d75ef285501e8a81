"""What the database reads hand to the rest of the service: one typed row per query shape.

Each class names exactly the columns of its query, in order (tests/db/test_rows.py compares them),
and a presenter reads ``case.deadline_at`` with its type instead of ``record["deadline_at"]``.

They are named tuples, built positionally: immutable, and as cheap as a tuple. A frozen dataclass
costs three times as much to build and built by name six times, which on the map's 100,000 cases
is most of a second (bench/map.py). Built positionally, a column moved in a query without its
field would land in the wrong one: the test above is what makes that safe.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar

import asyncpg

Row = TypeVar("Row")


def one(cls: type[Row], record: asyncpg.Record) -> Row:
    return cls(*record)


def many(cls: type[Row], records: Iterable[asyncpg.Record]) -> list[Row]:
    return [cls(*r) for r in records]


class CaseView(NamedTuple):
    """A case as every read presents it: its columns and the names of its category, cell and department."""

    id: uuid.UUID
    case_no: str
    status: str
    pending_reason: str | None
    category: str
    category_name: str
    urgent: bool
    lon: float | None
    lat: float | None
    grid_version: int | None
    grid_code: str | None
    grid_name: str | None
    department: str | None
    department_name: str | None
    routing_rule: dict[str, Any] | None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None
    deadline_at: dt.datetime | None
    warn_at: dt.datetime | None
    rework_count: int
    report_count: int
    updated_at: dt.datetime
    source: str
    resolution: str | None
    step_since: dt.datetime | None  # when it entered its status (the step limits count from here)
    condition: str | None
    original_deadline_at: dt.datetime | None  # before an extension or a suspension moved it
    suspended_until: dt.datetime | None
    open_request: dict[str, Any] | None
    returns: int
    extensions: int
    supervision_due_at: dt.datetime | None
    ruled_department: str | None
    accept_due_at: dt.datetime | None


class QueuedCase(NamedTuple):
    """A case in a department's queue, with the position of its latest change (the query's last column)."""

    case: CaseView
    last_seq: int

    @classmethod
    def of(cls, record: asyncpg.Record) -> QueuedCase:
        return cls(CaseView(*record[:-1]), record[-1])


class Disputes(NamedTuple):
    """A case's disputes around its deadline (SPEC §11), as a change carries them over or sets them
    (a tuple, as CaseChange is)."""

    returns: int = 0  # times a department returned it
    ruled_department: str | None = None  # bound by a ruling: may not return it again
    original_deadline_at: dt.datetime | None = None  # the dispatch's, before extensions and suspensions
    extensions: int = 0  # approved
    suspensions: int = 0  # approved
    suspended_at: dt.datetime | None = None
    suspended_until: dt.datetime | None = None
    suspended_from: str | None = None  # the status it resumes to
    open_request: dict[str, Any] | None = None  # {kind, by, at, ...}: an extension, suspension or appeal
    appeals: int = 0
    supervision_due_at: dt.datetime | None = None  # the current 督办's reply limit
    accept_due_at: dt.datetime | None = None  # the current dispatch's sign-for limit


class LockedCase(NamedTuple):
    """A case locked for an action: what the action's rules read, with its category's limits."""

    id: uuid.UUID
    status: str
    pending_reason: str | None
    department: str | None
    category: str
    urgent: bool
    dispatched_at: dt.datetime | None
    deadline_at: dt.datetime | None
    warn_at: dt.datetime | None
    rework_count: int
    routing_rule_id: int | None
    routing_rule: dict[str, Any] | None
    grid_code: str | None
    placed: bool  # it has a point (not an address alone)
    source: str
    condition: str | None  # the filing standard's condition it was filed under
    step_since: dt.datetime | None
    checks_open: bool  # an inspector is out on a check of it
    limit_hours: float
    urgent_limit_hours: float | None
    clock: str
    version: int  # the row version read (xmin), for a write guarded by it
    # Its disputes (the columns of Disputes, in order):
    returns: int
    ruled_department: str | None
    original_deadline_at: dt.datetime | None
    extensions: int
    suspensions: int
    suspended_at: dt.datetime | None
    suspended_until: dt.datetime | None
    suspended_from: str | None
    open_request: dict[str, Any] | None
    appeals: int
    supervision_due_at: dt.datetime | None
    accept_due_at: dt.datetime | None

    @property
    def disputes(self) -> Disputes:
        return Disputes(
            self.returns,
            self.ruled_department,
            self.original_deadline_at,
            self.extensions,
            self.suspensions,
            self.suspended_at,
            self.suspended_until,
            self.suspended_from,
            self.open_request,
            self.appeals,
            self.supervision_due_at,
            self.accept_due_at,
        )


class EventEntry(NamedTuple):
    """One line of a case's history."""

    seq: int
    type: str
    at: dt.datetime
    actor: str
    note: str | None
    data: dict[str, Any]


class ReportView(NamedTuple):
    """A report on a case, with the name of the token that filed it and its photos in order."""

    id: uuid.UUID
    client_id: str
    inspector: str
    duplicate: bool
    category: str
    lon: float | None
    lat: float | None
    crs: str
    accuracy_m: float | None
    urgent: bool
    description: str | None
    address: str | None
    media_url: str | None
    observed_at: dt.datetime | None
    received_at: dt.datetime
    media: list[str]
    source: str
    photos: list[dict[str, Any]]  # each photo's capture: id, lon, lat, accuracy_m, taken_at, received_at


class MapCase(NamedTuple):
    """A case as the map and the feed draw it: no names, no joins."""

    id: uuid.UUID
    case_no: str
    status: str
    pending_reason: str | None
    category: str
    department: str | None
    grid_code: str | None
    urgent: bool
    lon: float | None
    lat: float | None
    created_at: dt.datetime
    deadline_at: dt.datetime | None
    warn_at: dt.datetime | None
    source: str
    step_since: dt.datetime | None
    open_request: str | None  # the kind of its open request (extension, suspension, appeal), if any
    supervision_due_at: dt.datetime | None  # under 督办: the answer is due then
    suspended_until: dt.datetime | None
    check_kind: str | None  # the check an inspector is out on (核实, 核查), if any
    check_assigned_to: str | None
    check_due_at: dt.datetime | None


class FeedEvent(NamedTuple):
    """An event of the log with its case as it is now (the case's columns come first in the query)."""

    case: MapCase
    seq: int
    event_type: str
    event_at: dt.datetime

    @classmethod
    def of(cls, record: asyncpg.Record) -> FeedEvent:
        return cls(MapCase(*record[:-3]), *record[-3:])


class ServiceRequestRow(NamedTuple):
    """A case as an Open311 service request shows it: its first report's words and the published reply."""

    case_no: str
    status: str
    pending_reason: str | None
    category: str
    category_name: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    department_name: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deadline_at: dt.datetime | None
    description: str | None
    address: str | None
    media_url: str | None
    public_reply: str | None
    source: str
    open_check: str | None  # the kind of a check task open on it


class FiguresRow(NamedTuple):
    """One group's performance figures for a period (db/stats.py defines each)."""

    key: str | None
    reported: int
    dispatched: int
    filed: int
    closed: int
    closed_on_time: int
    rejected: int
    reworked: int
    due: int
    overdue_open: int
    median_hours_to_close: float | None


class TaskView(NamedTuple):
    """A check task with its case's number, cell and point (where its completion is measured from)."""

    id: uuid.UUID
    kind: str
    case_id: uuid.UUID
    case_no: str
    status: str
    assigned_to: str | None
    due_at: dt.datetime
    created_at: dt.datetime
    reassigned_at: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by: str | None
    outcome: str | None
    grid_code: str | None
    case_lon: float | None
    case_lat: float | None


class InspectorFigures(NamedTuple):
    key: str
    reported: int
    valid: int
    check_report_done: int
    check_report_on_time: int
    check_result_done: int
    check_result_on_time: int
    self_handled: int


class ReceiverFigures(NamedTuple):
    key: str
    accepted: int
    filed: int
    filed_on_time: int


class DispatcherFigures(NamedTuple):
    key: str
    dispatched: int
    dispatched_on_time: int
    returned: int

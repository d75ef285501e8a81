"""The domain's vocabularies, shared by the pure domain code, the database layer and the API schemas
(which re-export them): nothing here imports from the edges."""

from __future__ import annotations

from enum import StrEnum


class Crs(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


class CaseStatus(StrEnum):
    PENDING_DISPATCH = "pending_dispatch"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PendingReason(StrEnum):
    OUTSIDE_GRID = "outside_grid"
    NO_RULE = "no_rule"
    REJECTED = "rejected"
    NO_LOCATION = "no_location"  # placed by address alone (Open311): the dispatcher places and dispatches it


class Role(StrEnum):
    INSPECTOR = "inspector"
    DEPARTMENT = "department"
    DISPATCHER = "dispatcher"
    VIEWER = "viewer"
    ADMIN = "admin"


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class EventType(StrEnum):
    """Every kind of event the log holds (the events table CHECKs the same list)."""

    CREATED = "case.created"
    REPORTED_AGAIN = "case.reported_again"
    DISPATCHED = "case.dispatched"
    ACCEPTED = "case.accepted"
    RESOLVED = "case.resolved"
    CLOSED = "case.closed"
    REOPENED = "case.reopened"
    REJECTED = "case.rejected"
    CANCELLED = "case.cancelled"
    WARNING = "case.warning"
    OVERDUE = "case.overdue"
    ESCALATED = "case.escalated"

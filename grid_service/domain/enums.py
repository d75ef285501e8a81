"""The domain's vocabularies, shared by the pure domain code, the database layer and the API schemas
(which re-export them): nothing here imports from the edges."""

from __future__ import annotations

from enum import StrEnum


class Crs(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


class CaseStatus(StrEnum):
    REPORTED = "reported"  # 待受理: waits for a receiver to file or void it (filing policy "review")
    PENDING_DISPATCH = "pending_dispatch"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    VOIDED = "voided"  # 作废: a receiver found nothing to file; terminal
    ARBITRATION = "arbitration"  # 仲裁: returned too often; waits for a shift lead's binding ruling
    SUSPENDED = "suspended"  # 挂账: an approved suspension; its clock stands still until it resumes


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
    RECEIVER = "receiver"  # 受理员: files or voids what comes in, registers phoned-in reports
    SHIFT_LEAD = "shift_lead"  # 值班长: what a receiver and a dispatcher may
    CHANNEL = "channel"  # a machine client bound to one source (a citizen app, the 12345 bridge, cameras)


class Source(StrEnum):
    """Where a report came from (SPEC §10); a case keeps the source of the report that opened it."""

    INSPECTOR = "inspector"  # 监督员上报
    PUBLIC = "public"  # 公众举报
    HOTLINE = "hotline"  # 12345
    LEADER = "leader"  # 领导交办
    SENSOR = "sensor"  # 视频/物联网


# What a receiver may register by hand: reports that reached the center by telephone or from above.
REGISTERED_BY_RECEIVERS = frozenset({Source.HOTLINE, Source.LEADER})


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    SUSPENDED = "suspended"  # 挂账: its clock stands still


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
    FILED = "case.filed"
    VOIDED = "case.voided"
    CHECK_REQUESTED = "case.check_requested"  # a check task was opened (its data: the task)
    CHECK_COMPLETED = "case.check_completed"
    CHECK_REASSIGNED = "case.check_reassigned"  # an overdue task went to someone else, once
    STEP_OVERDUE = "case.step_overdue"  # a step of the supervision center took longer than its limit
    RULED = "case.ruled"  # the shift lead's binding ruling (with whose fault the returns were)
    ACCEPTANCE_OVERDUE = "case.acceptance_overdue"  # not signed for within the sign-for limit, once
    EXTENSION_REQUESTED = "case.extension_requested"
    EXTENSION_DECIDED = "case.extension_decided"
    SUSPENSION_REQUESTED = "case.suspension_requested"
    SUSPENSION_DECIDED = "case.suspension_decided"
    RESUMED = "case.resumed"  # a suspended case runs again (by hand, or by itself at its until)
    SUPERVISED = "case.supervised"  # 督办
    SUPERVISION_REPLIED = "case.supervision_replied"
    SUPERVISION_OVERDUE = "case.supervision_overdue"  # not answered within reply_hours, once
    APPEALED = "case.appealed"  # 超时申诉
    APPEAL_REVIEWED = "case.appeal_reviewed"


class TaskKind(StrEnum):
    CHECK_REPORT = "check_report"  # 核实 (by default): is the reported problem real?
    CHECK_RESULT = "check_result"  # 核查 (by default): was it handled?


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"  # its case was closed another way (cancelled, voided) first


class TaskOutcome(StrEnum):
    CONFIRMED = "confirmed"  # check_report: the problem is there
    NOT_FOUND = "not_found"  # check_report: nothing there (the case is voided)
    PASSED = "passed"  # check_result: handled (the case closes)
    FAILED = "failed"  # check_result: not handled (rework)

"""The disputes around a case's deadline (SPEC §11): what each one changes, decided on the case as read.

A return, a ruling, an extension, a suspension and its resume, 督办 and its reply, an appeal and
its review are each a transition or a request of the state table (domain/states.py), written by
casework like every other action (flows/casework.py): one statement guarded by the row's version,
or in a transaction on the locked row. This module decides what they write. A case holds at most
one open request (an extension, a suspension or an appeal) in ``open_request``; the event log keeps
every request and decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from grid_service.auth import Principal
from grid_service.configuration.catalogue import CategoryConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db.case_changes import CaseChange
from grid_service.db.rows import LockedCase
from grid_service.domain.deadlines import Clock, NoWorkingTimeError, deadline
from grid_service.domain.disputes import extended, moved, paused_for
from grid_service.domain.enums import CaseStatus, PendingReason, Role
from grid_service.domain.lights import warning_at
from grid_service.domain.states import Action
from grid_service.errors import Conflict, Forbidden, ValidationFailed, field_error
from grid_service.flows.routing import sign_for_by

DISPUTES = frozenset(
    {
        Action.RULE,
        Action.REQUEST_EXTENSION,
        Action.DECIDE_EXTENSION,
        Action.REQUEST_SUSPENSION,
        Action.DECIDE_SUSPENSION,
        Action.RESUME,
        Action.SUPERVISE,
        Action.REPLY_SUPERVISION,
        Action.APPEAL,
        Action.REVIEW_APPEAL,
    }
)
WATCH = "clock"  # the deadline watch's actor, as on its other events
THE_WATCH = Principal(token_id=0, name=WATCH, role=Role.ADMIN, department=None)  # who resumes a case at its until


def outcome_of(action: Action, row: LockedCase, snapshot: ConfigSnapshot, body: Any) -> bool | None:
    """The outcome that picks a decided dispute's target in the state table."""
    if action is Action.REJECT:  # returned once too often: to arbitration
        return row.returns >= snapshot.disputes.returns_before_ruling
    if action is Action.RESUME:  # back to where it was
        return row.suspended_from == CaseStatus.IN_PROGRESS
    if action in (Action.DECIDE_EXTENSION, Action.DECIDE_SUSPENSION, Action.REVIEW_APPEAL):
        return bool(body.approve)
    return None


def category_of(row: LockedCase) -> CategoryConfig:
    """The case's category as its locked row carries it (limits and clock)."""
    return CategoryConfig(
        code=row.category,
        name=row.category,
        limit_hours=row.limit_hours,
        urgent_limit_hours=row.urgent_limit_hours,
        clock=Clock(row.clock),
    )


def original_limit(row: LockedCase, snapshot: ConfigSnapshot) -> float:
    """The limit the case's dispatch gave it: its condition's, else its category's (urgent or not)."""
    configured = snapshot.categories.get(row.category)
    condition = configured.condition(row.condition) if configured else None
    return category_of(row).limit_for(row.urgent, condition)


def returned(
    row: LockedCase, keep: CaseChange, data: dict[str, Any], *, to: CaseStatus, now: dt.datetime
) -> CaseChange:
    """A department returns the case: to the dispatcher, or (returned once too often) to arbitration.
    A department a ruling bound may not return it again."""
    if row.ruled_department is not None and row.ruled_department == row.department:
        raise Conflict("a ruling bound this department to the case", code="ruling_binding")
    data["arbitration"] = to is CaseStatus.ARBITRATION
    return keep._replace(
        pending_reason=PendingReason.REJECTED.value if to is CaseStatus.PENDING_DISPATCH else None,
        department=None,
        dispatched_at=None,
        deadline_at=None,
        warn_at=None,
        # its requests and 督办 end with the department's hold on it
        disputes=keep.disputes._replace(
            returns=row.returns + 1,
            open_request=_appeal_only(row.open_request),
            supervision_due_at=None,
            accept_due_at=None,
            original_deadline_at=None,
        ),
    )


def dispatched_to(
    row: LockedCase, keep: CaseChange, department: str, snapshot: ConfigSnapshot, now: dt.datetime
) -> CaseChange:
    """A new dispatch: a fresh deadline from the case's limit, a fresh sign-for limit."""
    category = category_of(row)
    due = deadline(now, original_limit(row, snapshot), category.clock, snapshot.calendar).replace(microsecond=0)
    return keep._replace(
        department=department,
        dispatched_at=now,
        deadline_at=due,
        warn_at=warning_at(now, due, category.clock, snapshot.calendar),
        disputes=keep.disputes._replace(
            accept_due_at=sign_for_by(now, row.category, snapshot),
            original_deadline_at=None,
            supervision_due_at=None,
            open_request=_appeal_only(keep.disputes.open_request),  # the old hold's requests end with it
        ),
    )


def dispute_change(
    action: Action,
    row: LockedCase,
    keep: CaseChange,
    data: dict[str, Any],
    body: Any,
    caller: Principal,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    *,
    on_time: bool | None = None,
) -> CaseChange:
    """The change a dispute action makes (``keep``: the case as it is, with its new status); ``data``
    gains what its event records. Conflict, Forbidden or ValidationFailed when it may not be made."""
    disputes = keep.disputes
    request = row.open_request or {}
    if action is Action.RULE:
        department = department_of(body.department, snapshot)
        change = dispatched_to(row, keep, department, snapshot, now)
        data.update(
            {
                "department": department,
                "fault": body.fault,
                "dispatcher": _dispatcher(row),
                "deadline_at": change.deadline_at.isoformat() if change.deadline_at else None,
            }
        )
        return change._replace(disputes=change.disputes._replace(ruled_department=department))
    if action is Action.REQUEST_EXTENSION:
        _no_open_request(row)
        if row.deadline_at is not None and now >= row.deadline_at:
            raise Conflict("an extension is asked for before the deadline", code="deadline_passed")
        if row.extensions >= snapshot.disputes.max_extensions:
            raise Conflict(f"at most {snapshot.disputes.max_extensions} extensions per case", code="extension_limit")
        due_now = row.deadline_at
        if body.hours is not None and due_now is not None:  # it must be a deadline the calendar holds
            _counted(lambda: extended(due_now, body.hours, Clock(row.clock), snapshot.calendar), "hours")
        asked = {"kind": "extension", "by": caller.actor, "at": now.isoformat(), "reason": body.reason}
        asked["hours"] = body.hours
        data.update({"reason": body.reason, "hours": body.hours})
        return keep._replace(disputes=disputes._replace(open_request=asked))
    if action is Action.DECIDE_EXTENSION:
        _open_request(row, "extension")
        limit = original_limit(row, snapshot)
        hours = float(request.get("hours") or limit)
        if caller.role is Role.DISPATCHER and (row.extensions >= 1 or hours > limit):
            raise Forbidden("a second extension, or one of more than one limit, is the shift lead's to decide")
        data.update({"approve": body.approve, "hours": hours, "requested_by": request.get("by")})
        if not body.approve:
            return keep._replace(disputes=disputes._replace(open_request=None))
        if row.deadline_at is None or row.dispatched_at is None:
            raise Conflict("the case has no deadline to extend", code="invalid_transition")
        clock = Clock(row.clock)
        due = extended(row.deadline_at, hours, clock, snapshot.calendar).replace(microsecond=0)
        data.update({"previous_deadline_at": row.deadline_at.isoformat(), "deadline_at": due.isoformat()})
        return keep._replace(
            deadline_at=due,
            warn_at=warning_at(row.dispatched_at, due, clock, snapshot.calendar),
            disputes=disputes._replace(
                open_request=None,
                extensions=row.extensions + 1,
                original_deadline_at=row.original_deadline_at or row.deadline_at,
            ),
        )
    if action is Action.REQUEST_SUSPENSION:
        _no_open_request(row)
        if row.suspensions >= 1:
            raise Conflict("a case is suspended at most once", code="suspension_limit")
        until = body.until
        max_days = snapshot.disputes.suspension_max_days
        latest = min(now + dt.timedelta(days=max_days), a_year_after(now.astimezone(snapshot.calendar.timezone)))
        if until <= now or until > latest:
            message = f"until must lie after now, within a year and at most {max_days} days away"
            raise ValidationFailed(message, details=[field_error(["until"], message, "until_out_of_range")])
        asked = {"kind": "suspension", "by": caller.actor, "at": now.isoformat(), "reason": body.reason}
        asked["until"] = until.isoformat()
        data.update({"reason": body.reason, "until": until.isoformat()})
        return keep._replace(disputes=disputes._replace(open_request=asked))
    if action is Action.DECIDE_SUSPENSION:
        _open_request(row, "suspension")
        data.update({"approve": body.approve, "until": request.get("until"), "requested_by": request.get("by")})
        if not body.approve:
            return keep._replace(disputes=disputes._replace(open_request=None))
        return keep._replace(
            disputes=disputes._replace(
                open_request=None,
                suspensions=row.suspensions + 1,
                suspended_at=now,
                suspended_until=dt.datetime.fromisoformat(request["until"]),
                suspended_from=row.status,
                original_deadline_at=row.original_deadline_at or row.deadline_at,
            ),
        )
    if action is Action.RESUME:
        return resume(row, keep, data, snapshot, now, by_watch=caller == THE_WATCH)
    if action is Action.SUPERVISE:
        due = _counted(lambda: deadline(now, body.reply_hours, Clock.WORKING, snapshot.calendar), "reply_hours")
        due = due.replace(microsecond=0)
        data.update({"level": body.level, "reply_hours": body.reply_hours, "reply_due_at": due.isoformat()})
        return keep._replace(disputes=disputes._replace(supervision_due_at=due))
    if action is Action.REPLY_SUPERVISION:
        if row.supervision_due_at is None:
            raise Conflict("no 督办 of this case waits for an answer", code="no_supervision")
        data.update({"reply_due_at": row.supervision_due_at.isoformat(), "on_time": now <= row.supervision_due_at})
        return keep._replace(disputes=disputes._replace(supervision_due_at=None))
    if action is Action.APPEAL:
        _no_open_request(row)
        if row.appeals >= 1:
            raise Conflict("a case is appealed at most once", code="appeal_limit")
        if on_time is not False:
            message = "only a case closed late may be appealed"
            raise ValidationFailed(message, code="closed_on_time", details=[field_error([], message, "closed_on_time")])
        asked = {"kind": "appeal", "by": caller.actor, "at": now.isoformat(), "stage": "dispatcher"}
        return keep._replace(disputes=disputes._replace(open_request=asked, appeals=1))
    if action is Action.REVIEW_APPEAL:
        _open_request(row, "appeal")
        stage = request.get("stage", "dispatcher")
        if caller.role is not Role.ADMIN and caller.role.value != stage:
            raise Forbidden(f"the appeal waits for the {stage}'s review")
        final = stage == "shift_lead" or not body.approve
        data.update({"stage": stage, "approve": body.approve, "final": final, "approved": body.approve and final})
        following = None if final else {**request, "stage": "shift_lead"}
        return keep._replace(disputes=disputes._replace(open_request=following))
    raise ValueError(f"not a dispute: {action}")


def resume(
    row: LockedCase,
    keep: CaseChange,
    data: dict[str, Any],
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    *,
    by_watch: bool,
) -> CaseChange:
    """A suspended case runs again: its deadline (and sign-for limit) moved by the paused time,
    counted on the case's clock."""
    if row.suspended_at is None or row.deadline_at is None or row.dispatched_at is None:
        raise Conflict("the case is not suspended", code="invalid_transition")
    clock = Clock(row.clock)
    calendar = snapshot.calendar
    paused = paused_for(row.suspended_at, now, clock, calendar)
    due = moved(row.deadline_at, paused, clock, calendar)
    accept_by = row.accept_due_at
    if accept_by is not None:  # the sign-for limit is on the working clock
        on_working = paused if clock is Clock.WORKING else paused_for(row.suspended_at, now, Clock.WORKING, calendar)
        accept_by = moved(accept_by, on_working, Clock.WORKING, calendar)
    data.update(
        {
            "by_watch": by_watch,
            "suspended_at": row.suspended_at.isoformat(),
            "paused_hours": paused.total_seconds() / 3600,
            "previous_deadline_at": row.deadline_at.isoformat(),
            "deadline_at": due.isoformat(),
        }
    )
    return keep._replace(
        deadline_at=due,
        warn_at=warning_at(row.dispatched_at, due, clock, calendar),
        keeps_watch_marks=True,
        disputes=keep.disputes._replace(
            suspended_at=None, suspended_until=None, suspended_from=None, accept_due_at=accept_by
        ),
    )


def _counted(compute: Callable[[], dt.datetime], field: str) -> dt.datetime:
    """A limit a request asks for, counted on the calendar; 422 naming ``field`` when it runs past
    what the calendar holds (years of working hours)."""
    try:
        return compute()
    except NoWorkingTimeError as exc:
        message = f"{field} runs past the working calendar: {exc}"
        raise ValidationFailed(message, details=[field_error([field], message, "beyond_calendar")]) from exc


def a_year_after(now: dt.datetime) -> dt.datetime:
    """The same instant a year later on the city's calendar (29 February: the 28th)."""
    try:
        return now.replace(year=now.year + 1)
    except ValueError:
        return now.replace(year=now.year + 1, day=28)


def _appeal_only(request: dict[str, Any] | None) -> dict[str, Any] | None:
    return request if request is not None and request.get("kind") == "appeal" else None


def _no_open_request(row: LockedCase) -> None:
    if row.open_request is not None:
        kind = row.open_request.get("kind")
        raise Conflict(f"the case has an open {kind} request", code="request_open", details=[{"open": kind}])


def _open_request(row: LockedCase, kind: str) -> None:
    if row.open_request is None or row.open_request.get("kind") != kind:
        raise Conflict(f"no {kind} request of this case is open", code="no_request")


def department_of(code: str, snapshot: ConfigSnapshot) -> str:
    department = snapshot.departments.get(code)
    if department is None:
        raise ValidationFailed(
            f"unknown department {code!r}",
            details=[field_error(["department"], "unknown department", "unknown_department")],
        )
    return department.code


def _dispatcher(row: LockedCase) -> str:
    """Who made the dispatch the department returned: a dispatcher's manual one, else routing."""
    rule = row.routing_rule or {}
    return str(rule.get("by", "routing")) if rule.get("manual") else "routing"

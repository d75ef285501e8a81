"""Casework: one action on one case, in one transaction (SPEC §3, §6).

The case row is locked first, so two clients racing on one case queue on the
row: the first one's change commits, the second one then sees the new state
and is refused with 409 unless its action is still allowed. The state change
and its event are written together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from grid_service.auth import Principal
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import case_changes as db_changes
from grid_service.db import case_read as db_case_read
from grid_service.db import cases as db_cases
from grid_service.db import media as db_media
from grid_service.db import tasks as db_tasks
from grid_service.db.case_changes import CaseChange, Guarded, NewEvent
from grid_service.db.case_read import WholeCase
from grid_service.db.pool import Conn
from grid_service.db.rows import LockedCase, TaskView
from grid_service.domain.enums import CaseStatus, EventType, Role, TaskKind, TaskOutcome
from grid_service.domain.states import FINISHED, Action, InvalidTransition, transition
from grid_service.domain.steps import step_clock
from grid_service.errors import ApiError, Conflict, Forbidden, NotFound, unknown_media
from grid_service.flows import disputes
from grid_service.flows.case_batch import Asked, CaseBatcher, Unwritten
from grid_service.flows.filing import file_under
from grid_service.flows.routing import plan_check

log = logging.getLogger(__name__)

# Who may do what (besides admin): the one statement of it; the route table reads it from here.
ACTORS: dict[Action, frozenset[Role]] = {
    Action.ACCEPT: frozenset({Role.DEPARTMENT}),
    Action.RESOLVE: frozenset({Role.DEPARTMENT}),
    Action.REJECT: frozenset({Role.DEPARTMENT}),
    Action.DISPATCH: frozenset({Role.DISPATCHER, Role.SHIFT_LEAD}),
    Action.CANCEL: frozenset({Role.DISPATCHER, Role.SHIFT_LEAD}),
    Action.VERIFY: frozenset({Role.INSPECTOR, Role.SHIFT_LEAD}),
    Action.FILE: frozenset({Role.RECEIVER, Role.SHIFT_LEAD}),
    Action.REQUEST_CHECK: frozenset({Role.RECEIVER, Role.SHIFT_LEAD}),
    Action.VOID: frozenset({Role.RECEIVER, Role.SHIFT_LEAD}),
    Action.RULE: frozenset({Role.SHIFT_LEAD}),
    Action.REQUEST_EXTENSION: frozenset({Role.DEPARTMENT}),
    Action.DECIDE_EXTENSION: frozenset({Role.DISPATCHER, Role.SHIFT_LEAD}),  # a 2nd, or > 1 limit: shift lead
    Action.REQUEST_SUSPENSION: frozenset({Role.DEPARTMENT}),
    Action.DECIDE_SUSPENSION: frozenset({Role.SHIFT_LEAD}),
    Action.RESUME: frozenset({Role.DEPARTMENT, Role.DISPATCHER, Role.SHIFT_LEAD}),
    Action.SUPERVISE: frozenset({Role.DISPATCHER, Role.SHIFT_LEAD}),
    Action.REPLY_SUPERVISION: frozenset({Role.DEPARTMENT}),
    Action.APPEAL: frozenset({Role.DEPARTMENT}),
    Action.REVIEW_APPEAL: frozenset({Role.DISPATCHER, Role.SHIFT_LEAD}),  # the dispatcher, then the shift lead
}


def visible_to(caller: Principal, department: str | None) -> bool:
    """A department token sees only its own department's cases; every other role sees all."""
    scope = caller.scope()
    return scope is None or scope == department


# The actions that are one statement when the case has no open check and no photos come along:
# the change and its events, guarded by the row version read (no lock, no transaction), batched
# with the worker's concurrent ones (flows/case_batch.py). Every other action, and these when a
# check or a photo is involved, runs in a transaction on the locked row.
ONE_STATEMENT = frozenset(
    {Action.ACCEPT, Action.REJECT, Action.DISPATCH, Action.CANCEL, Action.FILE, Action.VOID} | disputes.DISPUTES
)
# A version that changed between the read and the write is read and decided again: a second try
# sees the new state (and refuses, or decides anew); after these many the locked path queues it.
OPTIMISTIC_TRIES = 2


async def act(
    pool: asyncpg.Pool,
    batcher: CaseBatcher,
    *,
    case_id: uuid.UUID,
    action: Action,
    caller: Principal,
    body: Any,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    timeout: float,
    on_commit: Callable[[], None],
) -> WholeCase:
    """Apply ``action`` (with its validated ``body``) to the case and answer the case after it (read
    with the change: no second transaction); raise NotFound, Conflict or ValidationFailed.
    ``on_commit`` is told once the locked path committed (the batcher tells its own)."""
    if caller.role is not Role.ADMIN and caller.role not in ACTORS[action]:
        raise Forbidden(f"role {caller.role.value} may not {action.value} a case")
    if action in ONE_STATEMENT and not _media(body):
        asked = Asked(case_id, action, caller, body, snapshot, now)
        for _ in range(OPTIMISTIC_TRIES):
            outcome = await batcher.submit(asked)
            if isinstance(outcome, WholeCase):
                return outcome
            if outcome is Unwritten.CHECK_OUT:
                break
    async with pool.acquire(timeout=timeout) as conn, conn.transaction():
        await apply(conn, case_id=case_id, action=action, caller=caller, body=body, snapshot=snapshot, now=now)
        after = await db_case_read.whole_case_or_raise(conn, case_id)
    on_commit()
    return after


async def decide_guarded(conn: Conn, row: LockedCase, asked: Asked) -> Guarded:
    """The batcher's decision on a case as read: its change, guarded by the row's version."""
    decided = await _decide(conn, row, asked.action, asked.caller, asked.body, asked.snapshot, asked.now, by_task=False)
    return Guarded(row.id, decided.change, row.status, decided.events, version=row.version)


@dataclasses.dataclass(frozen=True, slots=True)
class _Decided:
    """What an action writes: the case's new columns and its events, and the check it answers."""

    change: CaseChange
    events: list[NewEvent]
    check: TaskView | None


def _media(body: Any) -> list[str]:
    return list(getattr(body, "media", []) or [])


async def apply(
    conn: Conn,
    *,
    case_id: uuid.UUID,
    action: Action,
    caller: Principal,
    body: Any,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    by_task: bool = False,
) -> None:
    """The action inside the caller's transaction: the role is the caller's to check (a completed
    check task applies its outcome through here, with the task's own rule of who may)."""
    row = await db_cases.lock_case_or_raise(conn, case_id)
    decided = await _decide(conn, row, action, caller, body, snapshot, now, by_task=by_task)
    current = row.status
    if action is Action.REQUEST_CHECK:  # the task's own event records it
        if not await db_changes.apply_change(conn, Guarded(case_id, decided.change, current, ())):
            raise Conflict("the case changed meanwhile; retry", code="invalid_transition")
        task = plan_check(TaskKind.CHECK_REPORT, case_id, row.grid_code, snapshot, now)
        if not await db_tasks.open_task(conn, task, at=now, actor=caller.actor, department=row.department):
            raise Conflict("a check of this report is open already", code="task_open")
        return
    seq = await db_changes.change_and_log(conn, Guarded(case_id, decided.change, current, decided.events))
    if seq is None:
        raise Conflict("the case changed meanwhile; retry", code="invalid_transition")
    await db_media.attach_to_case(conn, case_id, _media(body), seq=seq)
    if action is Action.RESOLVE:  # was it handled? an inspector goes to see
        task = plan_check(TaskKind.CHECK_RESULT, case_id, row.grid_code, snapshot, now)
        await db_tasks.open_task(conn, task, at=now, actor=caller.actor, department=row.department)
    if decided.check is not None:  # verified directly: the check it answers is done
        await db_tasks.complete(
            conn,
            decided.check,
            at=now,
            by=caller.actor,
            outcome=TaskOutcome.PASSED.value if body.passed else TaskOutcome.FAILED.value,
            point=None,
            department=row.department,
        )
    if decided.change.status in FINISHED or action is Action.FILE:
        # Finished (cancelled, voided, closed), or filed while an inspector was still out checking
        # the report: its open checks end with it (completed later, one would find no case to act on).
        # Asked of the tasks themselves, not of the locked read: when the lock waited for a check to
        # be requested, the row is the newest but the read's EXISTS saw the tasks as they were.
        await db_tasks.cancel_open(conn, case_id, at=now, department=row.department)


async def _decide(
    conn: Conn,
    row: LockedCase,
    action: Action,
    caller: Principal,
    body: Any,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    *,
    by_task: bool,
) -> _Decided:
    """Check the action against the case as read and decide what it writes; it writes nothing
    (NotFound, Forbidden, Conflict or ValidationFailed leave no trace)."""
    case_id = row.id
    current = CaseStatus(row.status)
    if not visible_to(caller, row.department):
        if caller.department is not None and await db_cases.was_held_by(conn, case_id, caller.department):
            # It left this department meanwhile (a rejection or a re-dispatch won a race): the
            # department's action came too late, which is a conflict, not an unknown case.
            raise Conflict(
                "the case has left your department",
                code="invalid_transition",
                details=[{"current_status": current.value}],
            )
        raise NotFound("no such case")
    filing = file_under(row, body, snapshot, now) if action is Action.FILE else None
    outcome: bool | None
    if filing is not None:
        outcome = filing.routed.status is CaseStatus.DISPATCHED
    elif action is Action.VERIFY:
        outcome = body.passed
    else:
        outcome = disputes.outcome_of(action, row, snapshot, body)
    try:
        rule = transition(action, current, outcome=outcome)
    except InvalidTransition as exc:
        raise Conflict(str(exc), code="invalid_transition", details=[{"current_status": current.value}]) from exc
    check = None
    if action is Action.VERIFY and not by_task:
        # An inspector verifies the check they were sent on; one nobody was sent on, anyone may.
        check = await db_tasks.lock_open_of_case(conn, case_id, TaskKind.CHECK_RESULT)
        if check is not None and caller.role is Role.INSPECTOR and check.assigned_to not in (None, caller.name):
            raise Forbidden(f"the check of this case is {check.assigned_to}'s")
    media = _media(body)
    unknown = await db_media.unknown(conn, media)
    if unknown:
        raise unknown_media(media, unknown)
    on_time = await db_cases.last_resolution_on_time(conn, case_id) if action is Action.APPEAL else None
    if filing is not None:
        change, data = filing.change(row, now), filing.data(row, snapshot.filing.steps.minutes)
    else:
        change, data = _change(action, row, rule.to, body, caller, snapshot, now, on_time=on_time)
    if rule.to is CaseStatus.CLOSED:  # closed on time when its last resolution met the deadline
        data["on_time"] = await db_cases.last_resolution_on_time(conn, case_id)
    events = [
        NewEvent(
            rule.event,
            caller.actor,
            getattr(body, "note", None),
            data,
            # whom the event counts for: a rejection counts against the department that rejected
            row.department if action is Action.REJECT else change.department,
            change.deadline_at if action is Action.DISPATCH else None,
        )
    ]
    if action is Action.RULE:  # the ruling dispatches it: the same record as every dispatch
        events.append(
            NewEvent(
                EventType.DISPATCHED,
                caller.actor,
                None,
                {
                    "department": change.department,
                    "deadline_at": data["deadline_at"],
                    "routing_rule": change.routing_rule,
                },
                change.department,
                change.deadline_at,
            )
        )
    if filing is not None and filing.routed.department is not None:
        # Routed: the same record of the decision as intake writes (dispatched by routing).
        routed = filing.routed
        events.append(
            NewEvent(
                EventType.DISPATCHED, "routing", None, routed.dispatch_data(), routed.department, routed.deadline_at
            )
        )
    return _Decided(change, events, check)


def _change(
    action: Action,
    row: LockedCase,
    to: CaseStatus,
    body: Any,
    caller: Principal,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    *,
    on_time: bool | None = None,
) -> tuple[CaseChange, dict[str, Any]]:
    """The new values of the case's mutable columns, and the event's data."""
    keep = CaseChange(
        status=to.value,
        pending_reason=None,
        department=row.department,
        dispatched_at=row.dispatched_at,
        deadline_at=row.deadline_at,
        warn_at=row.warn_at,
        rework_count=row.rework_count,
        routing_rule_id=row.routing_rule_id,
        routing_rule=row.routing_rule,
        at=now,
        disputes=row.disputes,
        public_reply=getattr(body, "public_reply", None),
    )
    data: dict[str, Any] = {"from": row.status}
    media = list(getattr(body, "media", []) or [])
    if media:
        data["media"] = media
    if action is Action.DISPATCH:
        department = disputes.department_of(body.department, snapshot)
        change = disputes.dispatched_to(row, keep, department, snapshot, now)._replace(
            routing_rule_id=None,
            routing_rule={"manual": True, "by": caller.actor, "department": department},
        )
        data.update(
            {"department": department, "previous_department": row.department, "deadline_at": _iso(change.deadline_at)}
        )
        step = step_clock(row.status, row.step_since, snapshot.filing.steps.minutes)
        if step is not None:  # whether it was dispatched in time is judged against this (db/positions.py)
            data["step_due_at"] = step.due_at.isoformat()
        return change, data
    if action in disputes.DISPUTES:
        change = disputes.dispute_change(action, row, keep, data, body, caller, snapshot, now, on_time=on_time)
        if action is Action.RULE:
            routing = {"manual": True, "by": caller.actor, "department": change.department, "ruling": True}
            change = change._replace(routing_rule_id=None, routing_rule=routing)
        return change, data
    if action is Action.RESOLVE:  # an extension or suspension still asked for is moot now
        data["on_time"] = row.deadline_at is not None and now <= row.deadline_at
        return keep._replace(disputes=keep.disputes._replace(open_request=None)), data
    if action is Action.REJECT:
        data.update({"reason": body.reason.value, "department": row.department})
        return disputes.returned(row, keep, data, to=to, now=now), data
    if action is Action.VERIFY:
        data["passed"] = body.passed
        if not body.passed:  # rework keeps the original deadline
            return keep._replace(rework_count=row.rework_count + 1), data
        # closed: a 督办 still awaiting its answer ends with it
        ended = keep.disputes._replace(supervision_due_at=None)
        return keep._replace(resolution="handled", disputes=ended), data
    if action is Action.VOID:
        data["reason"] = body.reason.value
        return keep, data
    if action is Action.CANCEL:  # nothing it was waiting for is awaited any more
        ended = keep.disputes._replace(
            open_request=None,
            supervision_due_at=None,
            suspended_at=None,
            suspended_until=None,
            suspended_from=None,
        )
        return keep._replace(disputes=ended), data
    return keep, data  # accept, resolve: the status alone changes


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def decide_resumes(
    conn: Conn, rows: Sequence[LockedCase], *, snapshot: ConfigSnapshot, now: dt.datetime
) -> list[Guarded]:
    """The resumes of suspended cases whose until has come (db/deadline_watch.due_to_resume), each
    to be written guarded by its row's version (db/case_changes.change_and_log_many): a case resumed
    by hand meanwhile, or by another worker's watch, is left alone, so each resume is recorded once."""
    resumes = []
    for row in rows:
        # It resumes at its until: the clock stood still until then, however late the sweep comes.
        at = min(now, row.suspended_until) if row.suspended_until else now
        try:
            decided = await _decide(conn, row, Action.RESUME, disputes.THE_WATCH, None, snapshot, at, by_task=False)
        except ApiError as exc:  # one case that cannot resume must not stop the others' resumes
            log.warning("case %s was not resumed: %s", row.id, exc)
            continue
        events = [event._replace(actor=disputes.WATCH) for event in decided.events]
        resumes.append(Guarded(row.id, decided.change, row.status, events, version=row.version))
    return resumes

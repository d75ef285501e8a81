"""Check tasks (SPEC §10): who is sent, and what completing a check does to its case.

A task goes to the inspector answering for the case's cell (inspectors.toml), else to the
receivers' queue. Completing one needs a photo and a point within the configured distance of the
case, and is one transaction with its effect: a confirmed report goes back to the receiver (or is
filed at once where its source is filed automatically), a report not found is voided, a passed
check closes the case and a failed one sends it back for rework — as `verify` does.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from geo import gcj02
from geo.grid import METRES_PER_DEGREE
from grid_service.auth import Principal
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import cases as db_cases
from grid_service.db import media as db_media
from grid_service.db import tasks as db_tasks
from grid_service.db.rows import LockedCase, TaskView
from grid_service.domain.enums import Crs, Role, Source, TaskKind, TaskOutcome, TaskStatus
from grid_service.domain.states import Action
from grid_service.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error, unknown_media
from grid_service.flows import casework
from grid_service.schemas import FileBody, VerifyBody, VoidBody, VoidReason

OUTCOMES = {
    TaskKind.CHECK_REPORT: frozenset({TaskOutcome.CONFIRMED, TaskOutcome.NOT_FOUND}),
    TaskKind.CHECK_RESULT: frozenset({TaskOutcome.PASSED, TaskOutcome.FAILED}),
}
# Who may complete any task; an inspector completes their own, or any nobody answers for.
OVERSEERS = frozenset({Role.SHIFT_LEAD, Role.ADMIN})


def may_complete(caller: Principal, task: TaskView) -> bool:
    if caller.role in OVERSEERS:
        return True
    return caller.role is Role.INSPECTOR and task.assigned_to in (None, caller.name)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two nearby points (the equirectangular approximation: exact enough within a
    few kilometres, which is all a check's distance limit ever compares)."""
    dx = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2)) * METRES_PER_DEGREE
    dy = (lat2 - lat1) * METRES_PER_DEGREE
    return math.hypot(dx, dy)


async def complete(
    pool: asyncpg.Pool,
    *,
    task_id: uuid.UUID,
    caller: Principal,
    body: Any,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    timeout: float,
    on_commit: Callable[[], None],
) -> None:
    """Complete the task and apply its outcome to the case, in one transaction; NotFound, Forbidden,
    Conflict (done already, or a race lost) or ValidationFailed (outcome, photo, distance)."""
    async with pool.acquire(timeout=timeout) as conn, conn.transaction():
        case_id = await db_tasks.case_of(conn, task_id)
        if case_id is None:
            raise NotFound("no such task")
        case = await db_cases.lock_case_or_raise(conn, case_id)  # the case first, as casework locks it
        task = await db_tasks.lock(conn, task_id)
        if task is None:
            raise NotFound("no such task")
        if not may_complete(caller, task):
            raise Forbidden(f"the task is {task.assigned_to}'s" if task.assigned_to else "not a task you may complete")
        if task.status != TaskStatus.OPEN:
            raise Conflict(
                f"the task is {task.status} already", code="task_not_open", details=[{"status": task.status}]
            )
        outcome = TaskOutcome(body.outcome)
        kind = TaskKind(task.kind)
        if outcome not in OUTCOMES[kind]:
            allowed = ", ".join(sorted(OUTCOMES[kind]))
            raise ValidationFailed(
                f"a {kind.value} task ends {allowed}",
                details=[field_error(["outcome"], f"must be one of: {allowed}", "invalid_outcome")],
            )
        unknown = await db_media.unknown(conn, list(body.media))
        if unknown:
            raise unknown_media(list(body.media), unknown)
        point = _wgs84(body)
        limit = snapshot.filing.steps.task_distance_m
        if task.case_lon is not None and task.case_lat is not None:
            away = distance_m(task.case_lon, task.case_lat, *point)
            if away > limit:
                message = f"the check was made {away:.0f} m from the case; at most {limit:.0f} m"
                raise ValidationFailed(message, code="too_far", details=[field_error(["location"], message, "too_far")])
        seq = await db_tasks.complete(
            conn, task, at=now, by=caller.actor, outcome=outcome.value, point=point, department=case.department
        )
        if seq is None:  # the row lock makes this unreachable; say so rather than write half
            raise Conflict("the task changed meanwhile; retry", code="task_not_open")
        await db_media.attach_to_case(conn, case_id, list(body.media), seq=seq)
        effect = _effect(kind, outcome, case, body, snapshot)
        if effect is not None:
            action, action_body = effect
            await casework.apply(
                conn,
                case_id=case_id,
                action=action,
                caller=caller,
                body=action_body,
                snapshot=snapshot,
                now=now,
                by_task=True,
            )
    on_commit()


def _wgs84(body: Any) -> tuple[float, float]:
    lon, lat = body.location.coordinates
    return (lon, lat) if body.crs is Crs.WGS84 else gcj02.to_wgs84(lon, lat)


def _effect(
    kind: TaskKind, outcome: TaskOutcome, case: LockedCase, body: Any, snapshot: ConfigSnapshot
) -> tuple[Action, Any] | None:
    """The case action a completed check implies; None when the case waits for a receiver."""
    note = body.note
    if kind is TaskKind.CHECK_RESULT:
        return Action.VERIFY, VerifyBody(passed=outcome is TaskOutcome.PASSED, note=note, media=list(body.media))
    if outcome is TaskOutcome.NOT_FOUND:
        return Action.VOID, VoidBody(reason=VoidReason.NOT_FOUND, note=note)
    category = snapshot.categories.get(case.category)
    if category is not None and snapshot.filing.policy_for(Source(case.source), category.code) == "auto":
        # Checked first, filed at once: no receiver decides this source's reports.
        return Action.FILE, FileBody(condition=category.default_condition, note=note)
    return None  # confirmed: back to the receiver, who files it

"""Check tasks: opened with their event, read as a caller's queue, locked to complete, re-assigned once.

A task's events (case.check_requested, case.check_completed, case.check_reassigned) carry the
task's id and its audience — whose list it is in (``audience``; the one it left, on a
re-assignment, as ``previous_audience``) — so that the list follows the event log as the
department queue does: no skip, no repeat, woken by the worker's tracker.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple

from grid_service.db.cases import append_event
from grid_service.db.pool import Conn
from grid_service.db.rows import TaskView, many, one
from grid_service.domain.enums import EventType, TaskKind

RECEIVERS = "task:receivers"


def audience(assigned_to: str | None) -> str:
    """Whose task list a task is in: an inspector's, or the receivers' (nobody answers for its cell)."""
    return f"task:inspector:{assigned_to}" if assigned_to else RECEIVERS


class NewTask(NamedTuple):
    id: uuid.UUID
    kind: TaskKind
    case_id: uuid.UUID
    assigned_to: str | None
    due_at: dt.datetime

    def event_data(self) -> dict[str, Any]:
        return {
            "task_id": str(self.id),
            "kind": self.kind.value,
            "assigned_to": self.assigned_to,
            "audience": audience(self.assigned_to),
            "due_at": self.due_at.isoformat(),
        }


INSERT_TASK = """
INSERT INTO tasks (id, kind, case_id, assigned_to, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (case_id, kind) WHERE status = 'open' DO NOTHING
RETURNING id
"""


async def open_task(conn: Conn, task: NewTask, *, at: dt.datetime, actor: str, department: str | None) -> bool:
    """Open the task and record it; False (and nothing written) when one of its kind is already open."""
    opened = await conn.fetchval(INSERT_TASK, task.id, task.kind.value, task.case_id, task.assigned_to, task.due_at, at)
    if opened is None:
        return False
    await append_event(
        conn,
        task.case_id,
        type=EventType.CHECK_REQUESTED,
        at=at,
        actor=actor,
        note=None,
        data=task.event_data(),
        department=department,
    )
    return True


TASK_READ = """
SELECT t.id, t.kind, t.case_id, c.case_no, t.status, t.assigned_to, t.due_at, t.created_at, t.reassigned_at,
       t.completed_at, t.completed_by, t.outcome, c.grid_code, c.lon AS case_lon, c.lat AS case_lat{extra}
  FROM {source}
  JOIN cases c ON c.id = t.case_id
"""
LOCK_TASK = TASK_READ.format(extra="", source="tasks t") + " WHERE t.id = $1 FOR UPDATE OF t"
CASE_OF_TASK = "SELECT case_id FROM tasks WHERE id = $1"
OPEN_TASK_OF_CASE = (
    TASK_READ.format(extra="", source="tasks t") + " WHERE t.case_id = $1 AND t.kind = $2 AND t.status = 'open'"
    " FOR UPDATE OF t"
)
COMPLETE = """
UPDATE tasks SET status = 'done', completed_at = $2, completed_by = $3, outcome = $4, lon = $5, lat = $6
 WHERE id = $1 AND status = 'open'
RETURNING id
"""
CANCEL_OPEN = "UPDATE tasks SET status = 'cancelled' WHERE case_id = $1 AND status = 'open' RETURNING id, assigned_to"
# The caller's tasks with a change in (after, upto], oldest change first, as they are now.
CHANGED = (
    """
WITH changed AS (
    SELECT (e.data->>'task_id')::uuid AS task_id, max(e.seq) AS last_seq
      FROM events e
     WHERE e.seq > $1 AND e.seq <= $2
       AND e.type IN ('case.check_requested', 'case.check_completed', 'case.check_reassigned')
       AND (e.data->>'audience' = ANY($3::text[]) OR e.data->>'previous_audience' = ANY($3::text[]))
     GROUP BY 1
     ORDER BY last_seq
     LIMIT $4
)
"""
    + TASK_READ.format(extra=", ch.last_seq", source="changed ch JOIN tasks t ON t.id = ch.task_id")
    + " ORDER BY ch.last_seq"
)
DUE = (
    TASK_READ.format(extra="", source="tasks t")
    + """
 WHERE t.status = 'open' AND t.reassigned_at IS NULL AND t.due_at <= $1
 ORDER BY t.due_at
 LIMIT $2
   FOR UPDATE OF t SKIP LOCKED
"""
)
# The new inspector gets the task's whole limit from now (its old due time has passed).
REASSIGN = "UPDATE tasks SET assigned_to = $2, reassigned_at = $3, due_at = $4 WHERE id = $1"


# A case's checks, oldest first (read with the case: db/case_read.py).
OF_CASE = TASK_READ.format(extra="", source="tasks t") + " WHERE t.case_id = $1 ORDER BY t.created_at, t.id"


async def case_of(conn: Conn, task_id: uuid.UUID) -> uuid.UUID | None:
    case_id: uuid.UUID | None = await conn.fetchval(CASE_OF_TASK, task_id)
    return case_id


async def lock(conn: Conn, task_id: uuid.UUID) -> TaskView | None:
    row = await conn.fetchrow(LOCK_TASK, task_id)
    return one(TaskView, row) if row else None


async def lock_open_of_case(conn: Conn, case_id: uuid.UUID, kind: TaskKind) -> TaskView | None:
    row = await conn.fetchrow(OPEN_TASK_OF_CASE, case_id, kind.value)
    return one(TaskView, row) if row else None


async def complete(
    conn: Conn,
    task: TaskView,
    *,
    at: dt.datetime,
    by: str,
    outcome: str,
    point: tuple[float, float] | None,
    department: str | None,
) -> int | None:
    """Mark the task done and record it; the event's sequence, or None when it was not open."""
    lon, lat = point if point else (None, None)
    if await conn.fetchval(COMPLETE, task.id, at, by, outcome, lon, lat) is None:
        return None
    return await append_event(
        conn,
        task.case_id,
        type=EventType.CHECK_COMPLETED,
        at=at,
        actor=by,
        note=None,
        data={
            "task_id": str(task.id),
            "kind": task.kind,
            "outcome": outcome,
            "assigned_to": task.assigned_to,
            "audience": audience(task.assigned_to),
        },
        department=department,
    )


async def cancel_open(conn: Conn, case_id: uuid.UUID, *, at: dt.datetime, department: str | None) -> None:
    """A case closed another way (cancelled, voided, verified directly): its open checks end with it."""
    for row in await conn.fetch(CANCEL_OPEN, case_id):
        await append_event(
            conn,
            case_id,
            type=EventType.CHECK_COMPLETED,
            at=at,
            actor="casework",
            note=None,
            data={"task_id": str(row["id"]), "outcome": None, "audience": audience(row["assigned_to"])},
            department=department,
        )


async def changed_for(
    conn: Conn, who: tuple[str, ...], *, after: int, upto: int, limit: int
) -> list[tuple[TaskView, int]]:
    rows = await conn.fetch(CHANGED, after, upto, list(who), limit)
    return [(TaskView(*r[:-1]), r[-1]) for r in rows]


async def due(conn: Conn, *, now: dt.datetime, limit: int) -> list[TaskView]:
    return many(TaskView, await conn.fetch(DUE, now, limit))


async def record_task_overdue(conn: Conn, task: TaskView, *, at: dt.datetime) -> None:
    """The task's step limit passed (recorded once: a task is re-assigned once, with it)."""
    await append_event(
        conn,
        task.case_id,
        type=EventType.STEP_OVERDUE,
        at=at,
        actor="clock",
        note=None,
        data={"step": "task", "task_id": str(task.id), "kind": task.kind, "assigned_to": task.assigned_to},
        department=None,
    )


async def reassign(conn: Conn, task: TaskView, *, to: str | None, at: dt.datetime, due_at: dt.datetime) -> None:
    await conn.execute(REASSIGN, task.id, to, at, due_at)
    await append_event(
        conn,
        task.case_id,
        type=EventType.CHECK_REASSIGNED,
        at=at,
        actor="clock",
        note=None,
        data={
            "task_id": str(task.id),
            "kind": task.kind,
            "assigned_to": to,
            "previous_assigned_to": task.assigned_to,
            "audience": audience(to),
            "previous_audience": audience(task.assigned_to),
            "due_at": due_at.isoformat(),
        },
        department=None,
    )

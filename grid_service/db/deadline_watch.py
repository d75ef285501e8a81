"""The deadline watch's writes: warnings, overdue cases and escalations, each recorded once.

Every statement picks its cases with FOR UPDATE SKIP LOCKED and re-checks the
"not yet recorded" condition on the locked row, then marks the case and
appends the event in the same statement. Any number of workers may run it at
once: a case is marked by exactly one of them, and its event is written once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from grid_service.db.cases import CASE_FOR_ACTION
from grid_service.db.pool import Conn
from grid_service.db.rows import LockedCase, many
from grid_service.domain.calendar import WorkingCalendar
from grid_service.domain.escalation import Rung
from grid_service.domain.steps import Step

# {moment}: the column whose passing is recorded; {flag}: where it is recorded; {event}: the event
# type; {statuses}: the cases it watches (a literal condition, so that each plan can use its index).
_RECORD = """
WITH due AS (
    SELECT id FROM cases
     WHERE {statuses} AND {flag} IS NULL AND {moment} <= $1
     ORDER BY {moment}
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE cases c SET {flag} = $1 FROM due WHERE c.id = due.id
    RETURNING c.*
)
INSERT INTO events (case_id, type, at, actor, data, department)
SELECT m.id, '{event}', $1, 'clock',
       jsonb_build_object('warn_at', m.warn_at, 'deadline_at', m.deadline_at, 'department', m.department,
                          '{moment}', m.{moment}),
       m.department
  FROM marked m ORDER BY m.{moment}
RETURNING seq
"""
_HANDLING = "status IN ('dispatched', 'in_progress')"
WARN = _RECORD.format(moment="warn_at", flag="warned_at", event="case.warning", statuses=_HANDLING)
# Not signed for (签收) within the sign-for limit; a 督办 not answered within its reply limit.
ACCEPTANCE_OVERDUE = _RECORD.format(
    moment="accept_due_at",
    flag="acceptance_overdue_at",
    event="case.acceptance_overdue",
    statuses="status = 'dispatched'",
)
SUPERVISION_OVERDUE = _RECORD.format(
    moment="supervision_due_at",
    flag="supervision_overdue_at",
    event="case.supervision_overdue",
    statuses="supervision_due_at IS NOT NULL AND status NOT IN ('closed', 'cancelled', 'voided')",
)
# {status}: the status a step waits in, as a literal (so every plan can use cases_step_due); $3 the
# step's name, $4 its limit in minutes.
STEP_OVERDUE = """
WITH due AS (
    SELECT id FROM cases
     WHERE status = '{status}' AND step_overdue_at IS NULL
       AND step_since <= $1::timestamptz - make_interval(secs => $4 * 60)
     ORDER BY step_since
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE cases c SET step_overdue_at = $1 FROM due WHERE c.id = due.id
    RETURNING c.id, c.department, c.step_since
)
INSERT INTO events (case_id, type, at, actor, data, department)
SELECT m.id, 'case.step_overdue', $1, 'clock',
       jsonb_build_object('step', $3::text, 'since', m.step_since, 'limit_minutes', $4::float8),
       m.department
  FROM marked m ORDER BY m.step_since
RETURNING seq
"""
# $3, $4: the last case of the batch before (-infinity and the nil id for the first): batches follow
# one another by (until, id) on cases_to_resume, so the next can be read while the one before is
# still being written, and none reads again the cases before it.
DUE_TO_RESUME = (
    CASE_FOR_ACTION
    + """ WHERE c.status = 'suspended' AND c.suspended_until <= $1 AND (c.suspended_until, c.id) > ($3, $4)
      ORDER BY c.suspended_until, c.id LIMIT $2"""
)
_BEFORE_ALL = (dt.datetime.min.replace(tzinfo=dt.UTC), uuid.UUID(int=0))
OVERDUE = _RECORD.format(moment="deadline_at", flag="overdue_at", event="case.overdue", statuses=_HANDLING)
# $3..$6: the ladder as parallel arrays (level, hours past the deadline, name, clock), $7 each rung's
# threshold: a deadline at or before it has been past that many hours, on the rung's clock, by now
# (computed with the calendar for a working-clock rung). $8, $9: for each level a case may be at below
# the top, the latest deadline that has reached some rung above it. Each level is probed on its own
# range of cases_to_escalate, so a sweep reads only cases that go up: the many overdue cases already
# at the rung their age gives them are never visited.
ESCALATE = """
WITH ladder AS (
    SELECT * FROM unnest($3::smallint[], $4::float8[], $5::text[], $6::text[], $7::timestamptz[])
             AS l (level, after_hours, name, clock, threshold)
), candidates AS (
    SELECT c.id, c.escalation_level, c.deadline_at
      FROM unnest($8::smallint[], $9::timestamptz[]) AS b (level, bound)
     CROSS JOIN LATERAL (
           SELECT id, escalation_level, deadline_at FROM cases
            WHERE status IN ('dispatched', 'in_progress') AND overdue_at IS NOT NULL
              AND escalation_level = b.level AND deadline_at <= b.bound
            ORDER BY deadline_at
            LIMIT $2) AS c
), due AS (
    SELECT k.id, k.escalation_level, k.deadline_at
      FROM (SELECT id FROM candidates ORDER BY deadline_at LIMIT $2) AS first
     CROSS JOIN LATERAL (SELECT id, escalation_level, deadline_at FROM cases
                          WHERE id = first.id AND status IN ('dispatched', 'in_progress')
                            AND overdue_at IS NOT NULL
                            FOR UPDATE SKIP LOCKED) AS k
), reached AS (
    SELECT d.id, l.level, l.name, l.after_hours, l.clock, d.deadline_at
      FROM due d JOIN ladder l ON l.level > d.escalation_level AND d.deadline_at <= l.threshold
), raised AS (
    UPDATE cases c SET escalation_level = r.level
      FROM (SELECT id, max(level) AS level FROM reached GROUP BY id) AS r
     WHERE c.id = r.id
    RETURNING c.id, c.department
)
INSERT INTO events (case_id, type, at, actor, data, department)
SELECT r.id, 'case.escalated', $1, 'clock',
       jsonb_build_object('level', r.level, 'to', r.name, 'after_hours', r.after_hours, 'clock', r.clock,
                          'deadline_at', r.deadline_at, 'department', x.department),
       x.department
  FROM reached r JOIN raised x ON x.id = r.id
 ORDER BY r.deadline_at, r.id, r.level
RETURNING seq
"""


async def record_warnings(conn: Conn, *, now: dt.datetime, limit: int) -> int:
    return len(await conn.fetch(WARN, now, limit))


async def record_step_overdue(conn: Conn, *, now: dt.datetime, step: Step, minutes: float, limit: int) -> int:
    return len(await conn.fetch(STEP_OVERDUE.format(status=step.status.value), now, limit, step.name, minutes))


async def record_overdue(conn: Conn, *, now: dt.datetime, limit: int) -> int:
    return len(await conn.fetch(OVERDUE, now, limit))


async def record_acceptance_overdue(conn: Conn, *, now: dt.datetime, limit: int) -> int:
    return len(await conn.fetch(ACCEPTANCE_OVERDUE, now, limit))


async def record_supervision_overdue(conn: Conn, *, now: dt.datetime, limit: int) -> int:
    return len(await conn.fetch(SUPERVISION_OVERDUE, now, limit))


async def due_to_resume(
    conn: Conn, *, now: dt.datetime, limit: int, after: LockedCase | None = None
) -> list[LockedCase]:
    """Suspended cases whose until has come, oldest first, after the case ``after`` (unlocked: their
    resumes are written guarded by each row's version, so a resume by hand meanwhile wins and this
    one is dropped)."""
    until, case_id = (after.suspended_until, after.id) if after is not None else _BEFORE_ALL
    return many(LockedCase, await conn.fetch(DUE_TO_RESUME, now, limit, until, case_id))


async def record_escalations(
    conn: Conn, *, now: dt.datetime, ladder: Sequence[Rung], calendar: WorkingCalendar, limit: int
) -> int:
    """Events written (one per rung a case reaches); a batch may hold fewer cases than ``limit``."""
    if not ladder:
        return 0
    thresholds = [rung.threshold(now, calendar) for rung in ladder]
    below_top = range(max(rung.level for rung in ladder))
    bounds = [max(t for rung, t in zip(ladder, thresholds, strict=True) if rung.level > level) for level in below_top]
    rows = await conn.fetch(
        ESCALATE,
        now,
        limit,
        [r.level for r in ladder],
        [r.after_hours for r in ladder],
        [r.name for r in ladder],
        [r.clock.value for r in ladder],
        thresholds,
        list(below_top),
        bounds,
    )
    return len(rows)

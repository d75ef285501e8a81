"""Changes to cases and the events that record them, written together: one change, or many at once.

Every statement here takes its changes as one array of records (the composite type case_change,
db/sql/functions/case_change.sql) and its events as another (case_event), each event naming the
change it belongs to. The same text therefore writes one change inside an action's transaction and
a whole batch of them from the casework batcher (flows/case_batch.py) or the deadline watch's
resumes, and there is one statement of what a change writes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from grid_service.db.pool import Conn
from grid_service.db.rows import Disputes


class CaseChange(NamedTuple):
    """The new values of a case's mutable columns. A tuple, not a dataclass: every action builds
    one and derives it again with ``_replace`` (a resume twice), which a frozen dataclass makes
    several times as costly (the deadline watch resumes thousands at once)."""

    status: str
    pending_reason: str | None
    department: str | None
    dispatched_at: dt.datetime | None
    deadline_at: dt.datetime | None
    warn_at: dt.datetime | None
    rework_count: int
    routing_rule_id: int | None
    routing_rule: dict[str, Any] | None
    at: dt.datetime
    disputes: Disputes  # written as given: every change carries them over or sets them
    public_reply: str | None = None  # None keeps the published words as they are
    # Set by filing only (None keeps them): a corrected category, urgency, the filing condition.
    category: str | None = None
    urgent: bool | None = None
    condition: str | None = None
    resolution: str | None = None  # set when the case closes: handled
    # A deadline moved by a pause (a resume) is the same deadline: the watch's records of it (warned,
    # overdue, the rung reached, the sign-for limit missed) stay, since the case is exactly as late as
    # when its clock stopped. Any other new deadline is watched afresh.
    keeps_watch_marks: bool = False


class NewEvent(NamedTuple):
    type: str
    actor: str
    note: str | None
    data: dict[str, Any]
    department: str | None  # whom it counts for in the statistics
    deadline_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Guarded:
    """A change written only if the case is still in ``expected_status`` and, given a ``version``
    (the row's xmin when it was read), still that version of its row."""

    case_id: uuid.UUID
    change: CaseChange
    expected_status: str
    events: Sequence[NewEvent]
    version: int | None = None


# The fields of the composite types case_change and case_event, in their order (tests/db/test_migrate_and_config.py
# compares them with the database's): a change is sent as a tuple of these, by position.
CHANGE_FIELDS = (
    "id",
    "status",
    "pending_reason",
    "department",
    "dispatched_at",
    "deadline_at",
    "warn_at",
    "rework_count",
    "routing_rule_id",
    "routing_rule",
    "at",
    "expected_status",
    "public_reply",
    "category",
    "urgent",
    "condition",
    "resolution",
    "version",
    "keeps_marks",
    *Disputes._fields,
)
EVENT_FIELDS = ("of", *NewEvent._fields)
# n: a change's position (1-based), which its events name.
CHANGES = """
changes AS (
  SELECT u.*, u.ordinality AS n FROM unnest($1::case_change[]) WITH ORDINALITY AS u
)"""
# Every mutable column is written explicitly: the flow computed each new value from the row it read
# (locked, or guarded by its version). A case named twice is changed once, by one of them; the
# other finds no row in ``changed`` and is read and decided again.
_UPDATE = f"""
changed AS (
  UPDATE cases c
     SET status = i.status, pending_reason = i.pending_reason, department = i.department,
         dispatched_at = i.dispatched_at, deadline_at = i.deadline_at, warn_at = i.warn_at,
         rework_count = i.rework_count, routing_rule_id = i.routing_rule_id, routing_rule = i.routing_rule,
         updated_at = i.at, public_reply = coalesce(i.public_reply, c.public_reply),
         category = coalesce(i.category, c.category), urgent = coalesce(i.urgent, c.urgent),
         condition = coalesce(i.condition, c.condition), resolution = coalesce(i.resolution, c.resolution),
         {", ".join(f"{name} = i.{name}" for name in Disputes._fields)},
         -- a new status starts its step afresh, a new deadline (or sign-for or reply limit) is
         -- watched afresh (the right-hand sides read the old row)
         step_since = CASE WHEN c.status IS DISTINCT FROM i.status THEN i.at ELSE c.step_since END,
         step_overdue_at = CASE WHEN c.status IS DISTINCT FROM i.status THEN NULL ELSE c.step_overdue_at END,
         warned_at = CASE WHEN c.deadline_at IS DISTINCT FROM i.deadline_at AND NOT i.keeps_marks THEN NULL
                          ELSE c.warned_at END,
         overdue_at = CASE WHEN c.deadline_at IS DISTINCT FROM i.deadline_at AND NOT i.keeps_marks THEN NULL
                           ELSE c.overdue_at END,
         escalation_level = CASE WHEN c.deadline_at IS DISTINCT FROM i.deadline_at AND NOT i.keeps_marks THEN 0
                                 ELSE c.escalation_level END,
         acceptance_overdue_at = CASE WHEN c.accept_due_at IS DISTINCT FROM i.accept_due_at AND NOT i.keeps_marks
                                      THEN NULL ELSE c.acceptance_overdue_at END,
         supervision_overdue_at = CASE WHEN c.supervision_due_at IS DISTINCT FROM i.supervision_due_at THEN NULL
                                       ELSE c.supervision_overdue_at END
    FROM changes i
   WHERE c.id = i.id AND c.status = i.expected_status AND (i.version IS NULL OR c.xmin = i.version)
     -- a row another writer holds is skipped, not waited for (its change is decided again, and
     -- at last on the locked path): one busy case does not hold up a whole batch
     AND c.id IN (SELECT free.id FROM changes j, LATERAL (SELECT k.id FROM cases k WHERE k.id = j.id
                                                          FOR UPDATE SKIP LOCKED) AS free)
"""
# What the events' statement needs of a written change; the whole row for a caller that reads the
# case as written (db/case_read.py): returning every column of a batch costs it much of its time.
CHANGED = _UPDATE + "  RETURNING c.id, c.updated_at, i.n\n)"
CHANGED_WHOLE = _UPDATE + "  RETURNING c.*, i.n\n)"
# Then the events, ``of`` naming the change they record. Only a change that was written logs its
# events, at the change's instant, with ascending sequence numbers in the order given (one
# INSERT ... ORDER BY, as intake writes them).
LOGGED = """
logged AS (
  INSERT INTO events (case_id, type, at, actor, note, data, department, deadline_at)
  SELECT c.id, e.type, c.updated_at, e.actor, e.note, e.data, e.department, e.deadline_at
    FROM unnest($2::case_event[]) WITH ORDINALITY AS e
    JOIN changed c ON c.n = e.of
   ORDER BY e.ordinality
  RETURNING case_id, seq, type, at, actor, note, data
)"""
CHANGE_AND_LOG = f"WITH {CHANGES}, {CHANGED}, {LOGGED} SELECT min(seq) AS seq FROM logged"
CHANGE_ONLY = f"WITH {CHANGES}, {CHANGED} SELECT count(*) FROM changed"
CHANGE_AND_LOG_MANY = f"WITH {CHANGES}, {CHANGED}, {LOGGED} SELECT count(DISTINCT case_id) FROM logged"


def parameters(guarded: Sequence[Guarded]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The parameters of the statements above: the changes (CHANGE_FIELDS), then their events
    (EVENT_FIELDS)."""
    changes = [
        (
            g.case_id,
            g.change.status,
            g.change.pending_reason,
            g.change.department,
            g.change.dispatched_at,
            g.change.deadline_at,
            g.change.warn_at,
            g.change.rework_count,
            g.change.routing_rule_id,
            g.change.routing_rule,
            g.change.at,
            g.expected_status,
            g.change.public_reply,
            g.change.category,
            g.change.urgent,
            g.change.condition,
            g.change.resolution,
            g.version,
            g.change.keeps_watch_marks,
            *g.change.disputes,
        )
        for g in guarded
    ]
    events = [(n, *event) for n, g in enumerate(guarded, start=1) for event in g.events]
    return changes, events


async def change_and_log(conn: Conn, guarded: Guarded) -> int | None:
    """Write the change with its events; the first event's sequence, or None (and nothing written)
    when the case was no longer as expected."""
    seq: int | None = await conn.fetchval(CHANGE_AND_LOG, *parameters([guarded]))
    return seq


async def apply_change(conn: Conn, guarded: Guarded) -> bool:
    """Write a change that records no event of its own; False (nothing written) when the case was
    no longer as expected."""
    changes, _ = parameters([guarded])
    written: int = await conn.fetchval(CHANGE_ONLY, changes)
    return written == 1


async def change_and_log_many(conn: Conn, guarded: Sequence[Guarded]) -> int:
    """Write the changes that still find their case as expected, with their events; how many were."""
    written: int = await conn.fetchval(CHANGE_AND_LOG_MANY, *parameters(guarded))
    return written

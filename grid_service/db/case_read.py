"""A case as GET /api/v1/cases/{id} and every action answer it: the case, its reports, its history
and its checks, in one query (each list an array of rows of the query that reads it alone), so a
read is one round trip and an action's answer costs it one more statement, not four."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg

from grid_service.db.case_changes import CHANGED_WHOLE, CHANGES, LOGGED, Guarded, parameters
from grid_service.db.cases import CASE_READ, SELECT_EVENTS
from grid_service.db.pool import Conn
from grid_service.db.reports import SELECT_CASE_REPORTS
from grid_service.db.rows import CaseView, EventEntry, ReportView, TaskView
from grid_service.db.tasks import OF_CASE
from grid_service.errors import NotFound


def _whole_case(source: str, case: str, history: str, extra: str = "") -> str:
    """The case read from ``source``, its lists read for the case ``case`` names."""
    reports, checks = _of(SELECT_CASE_REPORTS, case), _of(OF_CASE, case)
    return CASE_READ.format(
        extra=f""",
       ARRAY(SELECT ROW(q.*) FROM ({reports}) q ORDER BY q.received_at, q.id) AS reports,
       ARRAY(SELECT ROW(q.*) FROM ({history}) q ORDER BY q.seq) AS history,
       ARRAY(SELECT ROW(q.*) FROM ({checks}) q ORDER BY q.created_at, q.id) AS checks{extra}""",
        source=source,
    )


def _of(query: str, case: str) -> str:
    """A read of one case's rows (the case as its one parameter, $1) for the case ``case`` names."""
    if query.count("$1") != 1 or "$2" in query:
        raise ValueError("a read of one case's rows takes the case as its one parameter")
    return query.replace("$1", case)


WHOLE_CASE = _whole_case("cases c", "$1", SELECT_EVENTS) + " WHERE c.id = $1"
# Changes, their events, and the cases after them, in one statement. A case's columns are its
# updated row's; its history the events before (this statement's snapshot) and the ones it logged;
# its reports and checks are as they were (the batched actions touch neither). The lists name the
# case by a column only the changed rows have (``of_case``): their reads have a ``c`` of their own.
CHANGE_AND_READ = f"WITH {CHANGES}, {CHANGED_WHOLE}, {LOGGED} " + _whole_case(
    "(SELECT *, id AS of_case FROM changed) c",
    "of_case",
    f"SELECT seq, type, at, actor, note, data FROM logged WHERE case_id = of_case"
    f" UNION ALL ({_of(SELECT_EVENTS, 'of_case')})",
    extra=", c.n AS change",
)


class WholeCase(NamedTuple):
    case: CaseView
    reports: list[ReportView]
    events: list[EventEntry]
    checks: list[TaskView]


async def whole_case_or_raise(conn: Conn, case_id: uuid.UUID) -> WholeCase:
    row = await conn.fetchrow(WHOLE_CASE, case_id)
    if row is None:
        raise NotFound("no such case")
    return _whole(row)


async def change_and_read(conn: Conn, guarded: Sequence[Guarded]) -> dict[int, WholeCase]:
    """Write the changes that still find their case as expected, with their events, and answer the
    cases after them by the changes' positions (from 0); a change missing was not written."""
    rows = await conn.fetch(CHANGE_AND_READ, *parameters(guarded))
    return {row["change"] - 1: _whole(tuple(row)[:-1]) for row in rows}


def _whole(row: asyncpg.Record | tuple[Any, ...]) -> WholeCase:
    *case, reports, events, checks = row
    return WholeCase(
        CaseView(*case),
        [ReportView(*r) for r in reports],
        [EventEntry(*e) for e in events],
        [TaskView(*t) for t in checks],
    )

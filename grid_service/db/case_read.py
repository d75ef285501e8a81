"""A case as GET /api/v1/cases/{id} and every action answer it: the case, its reports, its history
and its checks, in one query (each list an array of rows of the query that reads it alone), so a
read is one round trip and an action's answer costs it one more statement, not four."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from grid_service.db.cases import CASE_READ, SELECT_EVENTS
from grid_service.db.pool import Conn
from grid_service.db.reports import SELECT_CASE_REPORTS
from grid_service.db.rows import CaseView, EventEntry, ReportView, TaskView
from grid_service.db.tasks import OF_CASE
from grid_service.errors import NotFound

WHOLE_CASE = (
    CASE_READ.format(
        extra=f""",
       ARRAY(SELECT ROW(q.*) FROM ({SELECT_CASE_REPORTS}) q ORDER BY q.received_at, q.id) AS reports,
       ARRAY(SELECT ROW(q.*) FROM ({SELECT_EVENTS}) q ORDER BY q.seq) AS history,
       ARRAY(SELECT ROW(q.*) FROM ({OF_CASE}) q ORDER BY q.created_at, q.id) AS checks""",
        source="cases c",
    )
    + " WHERE c.id = $1"
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
    *case, reports, events, checks = row
    return WholeCase(
        CaseView(*case),
        [ReportView(*r) for r in reports],
        [EventEntry(*e) for e in events],
        [TaskView(*t) for t in checks],
    )

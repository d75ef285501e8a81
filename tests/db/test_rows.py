"""Every typed row (db/rows.py) names exactly the columns of its query, in order.

Rows are built positionally: a column moved, added or dropped in a query without its field would
otherwise put a value in the wrong field, or fail only on the first request that reads that query.
The queue and the feed rows hold a case row and then their own columns (QueuedCase.of, FeedEvent.of).
"""

from __future__ import annotations

import pytest

from grid_service.db import case_read, cases, events, feed, open311, positions, reports, rows, stats, tasks
from grid_service.db import map as db_map

QUERIES = {
    "case": (case_read.WHOLE_CASE, (*rows.CaseView._fields, "reports", "history", "checks")),
    "cases after their changes": (
        case_read.CHANGE_AND_READ,
        (*rows.CaseView._fields, "reports", "history", "checks", "change"),
    ),
    "checks of a case": (tasks.OF_CASE, rows.TaskView),
    "tasks changed": (tasks.CHANGED, (*rows.TaskView._fields, "last_seq")),
    "inspector figures": (positions.INSPECTOR, rows.InspectorFigures),
    "receiver figures": (positions.RECEIVER, rows.ReceiverFigures),
    "dispatcher figures": (positions.DISPATCHER, rows.DispatcherFigures),
    "case list": (cases.LIST_CASES.format(where="true", limit="$1"), rows.CaseView),
    "history": (cases.SELECT_EVENTS, rows.EventEntry),
    "locked case": (cases.LOCK_CASE, rows.LockedCase),
    "cases as read for actions": (cases.READ_CASES, rows.LockedCase),
    "department queue": (events.QUEUE, (*rows.CaseView._fields, "last_seq")),
    "map": (db_map.MAP_CASES, rows.MapCase),
    "feed": (feed.FEED_EVENTS, (*rows.MapCase._fields, "seq", "event_type", "event_at")),
    "service requests by number": (open311.BY_NUMBER, rows.ServiceRequestRow),
    "service requests in a period": (open311.IN_PERIOD, rows.ServiceRequestRow),
    # (and whether they are the adjusted ones, last: db/stats._figures splits it off)
    "figures": (stats.STATEMENTS["department"], (*rows.FiguresRow._fields, "adjusted")),
    "figures by case key": (stats.STATEMENTS["street"], (*rows.FiguresRow._fields, "adjusted")),
    "figures both ways": (stats.BOTH_STATEMENTS["department"], (*rows.FiguresRow._fields, "adjusted")),
    "reports of a case": (reports.SELECT_CASE_REPORTS, rows.ReportView),
}


@pytest.mark.parametrize("name", list(QUERIES))
async def test_the_row_class_names_the_query_columns(db, name):
    query, row = QUERIES[name]
    fields = row if isinstance(row, tuple) else row._fields
    statement = await db.prepare(query)
    columns = [attribute.name for attribute in statement.get_attributes()]
    assert columns == list(fields)


async def test_the_extended_rows_split_their_record_where_the_case_ends(db):
    case_columns = ", ".join(f"null AS {name}" for name in rows.MapCase._fields)
    record = await db.fetchrow(f"SELECT {case_columns}, 7 AS seq, 'case.created' AS event_type, now() AS event_at")
    event = rows.FeedEvent.of(record)
    assert (event.seq, event.event_type) == (7, "case.created")
    assert event.case == rows.MapCase(*([None] * len(rows.MapCase._fields)))


async def test_a_row_with_a_column_too_many_is_refused(db):
    record = await db.fetchrow(
        "SELECT 1 AS seq, 'x' AS type, now() AS at, 'a' AS actor, null AS note, '{}'::jsonb AS data, 2 AS extra"
    )
    with pytest.raises(TypeError):
        rows.one(rows.EventEntry, record)

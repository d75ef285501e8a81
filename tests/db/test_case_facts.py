"""case_facts, the event log folded per case (migration 0020): kept by the trigger in the writing
transaction, the fold of every event of its case, even when two transactions write one case's
events at once."""

import asyncio
import datetime as dt

import pytest

from grid_service.db.pool import connect
from tests.api.helpers import report
from tests.conftest import bearer

INSERT = (
    "INSERT INTO events (case_id, type, at, actor, data, department, deadline_at)"
    " VALUES ($1::uuid, $2, $3, 'test', $4, $5, $6)"
)
AT = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


async def new_case(client, tokens) -> str:
    response = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    return (await response.json())["case_id"]


async def stored(db, case_id):
    return await db.fetchrow("SELECT * FROM case_facts WHERE case_id = $1::uuid", case_id)


async def folded(db, case_id):
    return await db.fetchrow("SELECT * FROM case_facts_as_of(ARRAY[$1::uuid], 'infinity')", case_id)


async def test_intake_and_every_later_event_leave_the_fold_of_the_whole_log(client, tokens, db):
    case_id = await new_case(client, tokens)
    facts = await stored(db, case_id)
    assert facts["filed_at"] == facts["created_at"] and facts["department"] == "urban_management"
    await db.execute(INSERT, case_id, "case.resolved", AT, {}, "urban_management", None)
    await db.execute(INSERT, case_id, "case.overdue", AT, {}, "urban_management", None)
    facts = await stored(db, case_id)
    assert facts == await folded(db, case_id)
    assert (facts["resolved_at"], facts["first_overdue_at"]) == (AT, AT)


@pytest.mark.parametrize("first_commits", [True, False])
async def test_two_writers_of_one_case_at_once_leave_the_fold_of_both(client, tokens, db, db_url, first_commits):
    """Neither sees the other's event when it folds; the second to write waits on the row the
    first folded into, then joins its fold with it (or, the first rolled back, with the row as it was)."""
    case_id = await new_case(client, tokens)
    one, two = await connect(db_url), await connect(db_url)
    try:
        first, second = one.transaction(), two.transaction()
        await first.start()
        await second.start()
        deadline = AT + dt.timedelta(hours=2)
        await one.execute(INSERT, case_id, "case.dispatched", AT, {}, "street_office", deadline)
        # the second waits for the first's row in case_facts
        writing = asyncio.create_task(two.execute(INSERT, case_id, "case.resolved", AT, {}, "street_office", None))
        await asyncio.sleep(0.3)
        assert not writing.done(), "the second fold waits for the first's row"
        await (first.commit() if first_commits else first.rollback())
        await writing
        await second.commit()
    finally:
        await one.close()
        await two.close()
    facts = await stored(db, case_id)
    assert facts == await folded(db, case_id)
    assert facts["resolved_at"] == AT
    assert facts["department"] == ("street_office" if first_commits else "urban_management")
    assert (facts["raw_deadline"] == deadline) is first_commits

"""case_facts, the event log folded per case (migration 0020): kept by the trigger in the writing
transaction, the fold of every event of its case, even when two transactions write one case's
events at once."""

import asyncio
import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


@contextlib.asynccontextmanager
async def two_writers(db_url):
    """Two connections, each in a transaction begun: (connection, transaction) twice."""
    one, two = await connect(db_url), await connect(db_url)
    try:
        first, second = one.transaction(), two.transaction()
        await first.start()
        await second.start()
        yield (one, first), (two, second)
    finally:
        await one.close()
        await two.close()


async def waiting_on_a_lock(db, conn, writing) -> bool:
    """Whether `conn` comes to wait on a row lock before `writing` is done (within 10 s)."""
    pid = conn.get_server_pid()
    for _ in range(200):
        if writing.done():
            return False
        state = await db.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid)
        if state == "Lock":
            return True
        await asyncio.sleep(0.05)
    return False


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
    deadline = AT + dt.timedelta(hours=2)
    async with two_writers(db_url) as ((one, first), (two, second)):
        await one.execute(INSERT, case_id, "case.dispatched", AT, {}, "street_office", deadline)
        # the second waits for the first's row in case_facts
        writing = asyncio.create_task(two.execute(INSERT, case_id, "case.resolved", AT, {}, "street_office", None))
        assert await waiting_on_a_lock(db, two, writing), "the second fold waits for the first's row"
        await (first.commit() if first_commits else first.rollback())
        await writing
        await second.commit()
    facts = await stored(db, case_id)
    assert facts == await folded(db, case_id)
    assert facts["resolved_at"] == AT
    assert facts["department"] == ("street_office" if first_commits else "urban_management")
    assert (facts["raw_deadline"] == deadline) is first_commits


KINDS = ["case.created", "case.filed", "case.dispatched", "case.resolved", "case.reopened", "case.closed",
         "case.rejected", "case.overdue", "case.extension_decided", "case.suspension_decided", "case.resumed",
         "case.appeal_reviewed", "case.cancelled"]  # fmt: skip
logged = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 60 * 24 * 10),
        st.sampled_from(["urban_management", "street_office", None]),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=10,
)


def row(case_id, kind, minutes, department, yes):
    at = AT + dt.timedelta(minutes=minutes)
    data = {"approve": yes, "approved": yes, "deadline_at": (at + dt.timedelta(hours=5)).isoformat()}
    if kind == "case.created":
        data = {"status": "dispatched" if yes else "reported"}
    return (case_id, kind, at, data, department, at + dt.timedelta(hours=2) if kind == "case.dispatched" else None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logged)
async def test_any_log_written_by_two_transactions_at_once_is_folded_whole(client, tokens, db, db_url, log):
    """Each event goes to one of two transactions, which write at once: the row that stays is the
    fold of the case's whole log (intake's events and these), every column of it."""
    case_id = await new_case(client, tokens)
    async with two_writers(db_url) as ((one, first), (two, second)):
        mine = [row(case_id, *e[:3], e[4]) for e in log if e[3]]
        theirs = [row(case_id, *e[:3], e[4]) for e in log if not e[3]]
        for values in mine:
            await one.execute(INSERT, *values)
        writing = asyncio.create_task(two.executemany(INSERT, theirs) if theirs else asyncio.sleep(0))
        if mine and theirs:  # the second is held by the first's row until the first commits
            assert await waiting_on_a_lock(db, two, writing)
        await first.commit()
        await writing
        await second.commit()
    assert await stored(db, case_id) == await folded(db, case_id)

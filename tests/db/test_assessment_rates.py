"""Every assessment rate lies in [0, 1], whatever the event log holds (SPEC §12): a property over
random logs of re-dispatches, returns, rulings, rework, suspensions, extensions, appeals and
cancellations, raw and adjusted, for every grouping and for the receivers and dispatchers."""

import asyncio
import contextlib
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid_service.db import positions as db_positions
from grid_service.db import stats as db_stats
from grid_service.db.pool import connect
from grid_service.db.rows import FiguresRow
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, report
from tests.conftest import bearer

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
DEPARTMENTS = ["urban_management", "street_office", "sanitation"]

# (type, data builder): what an event of the log may say.
KINDS = [
    "case.filed",
    "case.dispatched",
    "case.accepted",
    "case.resolved",
    "case.reopened",
    "case.closed",
    "case.rejected",
    "case.cancelled",
    "case.extension_decided",
    "case.suspension_decided",
    "case.resumed",
    "case.appeal_reviewed",
    "case.overdue",
    "case.ruled",
]
instants = st.integers(min_value=-10 * 24 * 60, max_value=40 * 24 * 60).map(lambda m: START + dt.timedelta(minutes=m))
events = st.tuples(st.sampled_from(KINDS), instants, instants, st.sampled_from(DEPARTMENTS), st.booleans())
logs = st.lists(st.lists(events, max_size=12), min_size=1, max_size=6)


def event_row(case_id, kind, at, deadline, department, yes):
    data = {}
    deadline_at = None
    actor = "test"
    if kind == "case.dispatched":  # by a dispatcher (within or after its step's limit), or by routing
        deadline_at = deadline
        data = {"department": department, "step_due_at": deadline.isoformat()}
        actor = "dispatcher:d1" if yes else "routing"
    elif kind == "case.filed":
        data = {"step_due_at": deadline.isoformat()}
        actor = "receiver:r1"
    elif kind == "case.ruled":  # whose fault the returns were, and the dispatch it names
        data = {"department": department, "fault": "dispatcher" if yes else "department", "dispatcher": "dispatcher:d1"}
        actor = "shift_lead:s1"
    elif kind in ("case.extension_decided", "case.suspension_decided"):
        data = {"approve": yes, "deadline_at": deadline.isoformat()}
    elif kind == "case.resumed":
        data = {"deadline_at": deadline.isoformat()}
    elif kind == "case.appeal_reviewed":
        data = {"approved": yes}
    return (case_id, kind, at, actor, data, department, deadline_at)


async def made_cases(client, tokens):
    made = []
    for point in (IN_CELL_1, IN_CELL_2, IN_STREET_2):
        for category in ("outdoor_barbecue", "exposed_garbage"):
            response = await client.post(
                "/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"])
            )
            made.append((await response.json())["case_id"])
    return made


_made: list[str] = []  # the cases of the running test's database, made once for all its examples


@contextlib.asynccontextmanager
async def logged(client, tokens, db, log):
    """The log's events written for the test's cases in a transaction rolled back after; the cases."""
    if not _made or not await db.fetchval("SELECT count(*) FROM cases WHERE id = ANY($1::uuid[])", _made):
        _made[:] = await made_cases(client, tokens)  # a fresh database: its own cases
    tx = db.transaction()
    await tx.start()
    try:
        rows = [
            event_row(_made[n % len(_made)], kind, at, deadline, department, yes)
            for n, case_log in enumerate(log)
            for kind, at, deadline, department, yes in sorted(case_log, key=lambda e: e[1])
        ]
        await db.executemany(
            "INSERT INTO events (case_id, type, at, actor, data, department, deadline_at)"
            " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)",
            rows,
        )
        yield list(_made)
    finally:
        await tx.rollback()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs)
async def test_every_rate_lies_between_zero_and_one(client, tokens, db, log):
    async with logged(client, tokens, db, log):
        for group_by in db_stats.GROUPINGS:
            for adjusted in (False, True):
                alone = await db_stats.figures(db, start=START, end=END, group_by=group_by, adjusted=adjusted)
                for figures in alone:
                    where = (group_by, adjusted, figures)
                    assert 0 <= figures.closed_on_time <= figures.closed <= figures.due <= figures.filed, where
                    assert 0 <= figures.reworked <= figures.due, where
                # An ended period's raw and adjusted figures are counted together (and kept): the same.
                settled = END + dt.timedelta(days=1)
                together = await db_stats.figures(
                    db, start=START, end=END, group_by=group_by, adjusted=adjusted, now=settled
                )
                assert together == alone, (group_by, adjusted)
        # and the people of the loop: every rate of theirs a share of what they did
        [receivers, dispatchers] = [
            await db_positions.figures(db, position, start=START, end=END) for position in ("receiver", "dispatcher")
        ]
        for r in receivers:
            assert 0 <= r.filed_on_time <= r.filed <= r.accepted, r
        for d in dispatchers:
            assert 0 <= d.dispatched_on_time <= d.dispatched and 0 <= d.returned <= d.dispatched, d


FOLDED = (
    "case.created", "case.filed", "case.dispatched", "case.resumed", "case.extension_decided",
    "case.suspension_decided", "case.closed", "case.resolved", "case.reopened", "case.cancelled",
    "case.voided", "case.appeal_reviewed", "case.rejected", "case.overdue",
)  # fmt: skip
ENDING = ("case.resolved", "case.closed", "case.cancelled", "case.rejected", "case.dispatched", "case.reopened")


async def case_logs(db, cases):
    """Each case's events of the kinds the figures read, in the order they were written."""
    rows = await db.fetch(
        "SELECT case_id::text AS case_id, type, at, department, deadline_at, data FROM events"
        " WHERE case_id = ANY($1::uuid[]) AND type = ANY($2::text[]) ORDER BY seq",
        cases,
        list(FOLDED),
    )
    logs: dict = {}
    for row in rows:
        logs.setdefault(row["case_id"], []).append(row)
    return logs


def last(events, *kinds, approved=None):
    """The index of the last event of those kinds (approved ones only, for a decision), or -1."""
    found = [
        i
        for i, e in enumerate(events)
        if e["type"] in kinds and (approved is None or bool(e["data"].get("approve", e["data"].get("approved"))))
    ]
    return found[-1] if found else -1


def oracle(logs, start, end, adjusted: bool):
    """The figures by department worked out case by case, from each case's events before the end,
    the way SPEC §12 reads: the cohort, the cases created in the period, and those overdue at its end."""
    out: dict = {}

    def add(department, index):
        out.setdefault(department, [0] * 7)[index] += 1

    for events_of_case in logs.values():
        before = [e for e in events_of_case if e["at"] < end]
        kinds = [e["type"] for e in before]
        created = [e for e in before if e["type"] == "case.created"]
        if created and start <= created[0]["at"] < end:
            add(created[0]["department"], 5)
        overdue, ending = last(before, "case.overdue"), last(before, *ENDING)
        finished = [e["at"] for e in before if e["type"] in ("case.closed", "case.cancelled", "case.voided")]
        if overdue >= 0 and (ending < overdue or kinds[ending] == "case.reopened"):
            if not finished or max(finished) >= start:  # a case finished before the period is not open in it
                add(before[overdue]["department"], 6)
        filings = [
            e["at"]
            for e in before
            if e["type"] == "case.filed" or (e["type"] == "case.created" and e["data"].get("status") != "reported")
        ]
        if not filings or not start <= min(filings) < end:
            continue
        dispatch = last(before, "case.dispatched")
        department = before[dispatch]["department"] if dispatch >= 0 else None
        raw = before[dispatch]["deadline_at"] if dispatch >= 0 else None
        setter = max(dispatch, last(before, "case.resumed"), last(before, "case.extension_decided", approved=True))
        in_force = None
        if setter >= 0:
            e = before[setter]
            in_force = (
                e["deadline_at"]
                if e["type"] == "case.dispatched"
                else dt.datetime.fromisoformat(e["data"]["deadline_at"])
            )
        returned = last(before, "case.rejected") > dispatch
        suspended = last(before, "case.suspension_decided", approved=True) > last(before, "case.resumed")
        deadline = None if returned or (adjusted and suspended) else (in_force if adjusted else raw)
        closures = [
            e["at"]
            for e in before
            if e["type"] == "case.closed" or (e["type"] == "case.created" and e["data"].get("status") == "closed")
        ]
        resolved_at = max((e["at"] for e in before if e["type"] == "case.resolved"), default=None)
        ended = any(k in ("case.cancelled", "case.voided") for k in kinds)
        appeal = last(before, "case.appeal_reviewed", approved=True) >= 0
        closed = not ended and bool(closures)
        due = not ended and (bool(closures) or (deadline is not None and deadline < end))
        on_time = closed and (
            deadline is None or (resolved_at is not None and resolved_at <= deadline) or (adjusted and appeal)
        )
        reworked = due and "case.reopened" in kinds
        for index, flag in enumerate((True, due, closed, on_time, reworked)):
            if flag:
                add(department, index)
    return {key: tuple(v) for key, v in out.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs)
async def test_the_figures_are_the_cases_worked_out_one_by_one(client, tokens, db, log):
    """Over the period (most cases have events after it, so they are folded again up to its end)
    and over one ending after every event (each case read from its folded facts)."""
    async with logged(client, tokens, db, log) as cases:
        # each statement's trigger left the fold of the whole log
        kept = "SELECT * FROM case_facts WHERE case_id = ANY($1::uuid[]) ORDER BY case_id"
        fresh = "SELECT * FROM case_facts_as_of($1::uuid[], 'infinity') ORDER BY case_id"
        assert await db.fetch(kept, cases) == await db.fetch(fresh, cases)
        by_case = await case_logs(db, cases)
        after_all = max(e["at"] for events_of_case in by_case.values() for e in events_of_case)
        for end in (END, after_all + dt.timedelta(minutes=1)):
            for adjusted in (False, True):
                got = {
                    f.key: (f.filed, f.due, f.closed, f.closed_on_time, f.reworked, f.reported, f.overdue_open)
                    for f in await db_stats.figures(db, start=START, end=end, group_by="department", adjusted=adjusted)
                    if f.filed or f.reported or f.overdue_open
                }
                assert got == oracle(by_case, START, end, adjusted), (end, adjusted)


async def test_a_caller_waits_for_the_count_of_the_period_under_way(db, db_url):
    """While one caller counts an ended period (it holds the period's lock), another asking for it
    waits and then reads what the first kept, instead of counting it again."""
    start, end = START - dt.timedelta(days=30), START
    holder = await connect(db_url)
    counting = holder.transaction()
    await counting.start()
    try:
        await holder.execute("SELECT pg_advisory_xact_lock($1)", db_stats.period_lock(start, end, "department"))
        settled = end + dt.timedelta(days=1)
        asking = asyncio.create_task(
            db_stats.figures(db, start=start, end=end, group_by="department", adjusted=True, now=settled)
        )
        waiting = 0
        for _ in range(1000):  # bounded: 10 s, until the second caller waits on the lock
            waiting = await holder.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting == 1
        kept = FiguresRow("urban_management", 3, 3, 3, 2, 1, 0, 0, 3, 0, 4.5)
        for flag in (False, True):
            await holder.execute(db_stats.KEEP, db_stats.VERSION, start, end, "department", flag, [list(kept)])
        await counting.commit()
        assert await asking == [kept]  # what the first caller kept, not a count of its own (none here)
    finally:
        await holder.close()

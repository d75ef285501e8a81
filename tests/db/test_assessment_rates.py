"""Every assessment rate lies in [0, 1], whatever the event log holds (SPEC §12): a property over
random logs of re-dispatches, returns, rework, suspensions, extensions, appeals and cancellations,
raw and adjusted, for every grouping."""

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid_service.db import stats as db_stats
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
]
instants = st.integers(min_value=-10 * 24 * 60, max_value=40 * 24 * 60).map(lambda m: START + dt.timedelta(minutes=m))
events = st.tuples(st.sampled_from(KINDS), instants, instants, st.sampled_from(DEPARTMENTS), st.booleans())
logs = st.lists(st.lists(events, max_size=12), min_size=1, max_size=6)


def event_row(case_id, kind, at, deadline, department, yes):
    data = {}
    deadline_at = None
    if kind == "case.dispatched":
        deadline_at = deadline
        data = {"department": department}
    elif kind in ("case.extension_decided", "case.suspension_decided"):
        data = {"approve": yes, "deadline_at": deadline.isoformat()}
    elif kind == "case.resumed":
        data = {"deadline_at": deadline.isoformat()}
    elif kind == "case.appeal_reviewed":
        data = {"approved": yes}
    return (case_id, kind, at, "test", data, department, deadline_at)


async def made_cases(client, tokens):
    made = []
    for point in (IN_CELL_1, IN_CELL_2, IN_STREET_2):
        for category in ("outdoor_barbecue", "exposed_garbage"):
            response = await client.post(
                "/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"])
            )
            made.append((await response.json())["case_id"])
    return made


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs)
async def test_every_rate_lies_between_zero_and_one(client, tokens, db, log):
    cases = getattr(test_every_rate_lies_between_zero_and_one, "cases", None)
    if cases is None or not await db.fetchval("SELECT count(*) FROM cases WHERE id = ANY($1::uuid[])", cases):
        cases = await made_cases(client, tokens)
        test_every_rate_lies_between_zero_and_one.cases = cases  # type: ignore[attr-defined]
    tx = db.transaction()
    await tx.start()
    try:
        rows = [
            event_row(cases[n % len(cases)], kind, at, deadline, department, yes)
            for n, case_log in enumerate(log)
            for kind, at, deadline, department, yes in sorted(case_log, key=lambda e: e[1])
        ]
        await db.executemany(
            "INSERT INTO events (case_id, type, at, actor, data, department, deadline_at)"
            " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)",
            rows,
        )
        for group_by in ("department", "category", "street", "grid", "source"):
            for adjusted in (False, True):
                for figures in await db_stats.figures(db, start=START, end=END, group_by=group_by, adjusted=adjusted):
                    where = (group_by, adjusted, figures)
                    assert 0 <= figures.closed_on_time <= figures.closed <= figures.due <= figures.filed, where
                    assert 0 <= figures.reworked <= figures.due, where
    finally:
        await tx.rollback()

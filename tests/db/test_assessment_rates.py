"""Every assessment rate lies in [0, 1], whatever the event log holds (SPEC §12): a property over
random logs of re-dispatches, returns, rework, suspensions, extensions, appeals and cancellations,
raw and adjusted, for every grouping."""

import contextlib
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
        for group_by in ("department", "category", "street", "grid", "source"):
            for adjusted in (False, True):
                for figures in await db_stats.figures(db, start=START, end=END, group_by=group_by, adjusted=adjusted):
                    where = (group_by, adjusted, figures)
                    assert 0 <= figures.closed_on_time <= figures.closed <= figures.due <= figures.filed, where
                    assert 0 <= figures.reworked <= figures.due, where


def oracle(log, cases, adjusted: bool):
    """The cohort figures by department, worked out case by case from the log the way SPEC §12 reads."""
    out: dict = {}
    per_case: dict = {}
    for n, case_log in enumerate(log):
        per_case.setdefault(cases[n % len(cases)], []).extend(sorted(case_log, key=lambda e: e[1]))
    for events_of_case in per_case.values():
        inside = [e for e in events_of_case if START <= e[1] < END]
        if not any(kind == "case.filed" for kind, *_ in inside):
            continue
        last = {}
        for position, (kind, _, _, _, yes) in enumerate(inside):
            if kind != "case.suspension_decided" or yes:
                last[kind] = position
        dispatches = [e for e in inside if e[0] == "case.dispatched"]
        department = dispatches[-1][3] if dispatches else None
        raw = dispatches[-1][2] if dispatches else None
        setters = [
            e
            for e in inside
            if e[0] in ("case.dispatched", "case.resumed") or (e[0] == "case.extension_decided" and e[4])
        ]
        in_force = setters[-1][2] if setters else None
        returned = last.get("case.rejected", -1) > last.get("case.dispatched", -1)
        suspended = last.get("case.suspension_decided", -1) > last.get("case.resumed", -1)
        deadline = None if returned else (in_force if adjusted else raw)
        if adjusted and suspended:
            deadline = None
        closed_at = max((e[1] for e in inside if e[0] == "case.closed"), default=None)
        resolved_at = max((e[1] for e in inside if e[0] == "case.resolved"), default=None)
        ended = any(e[0] == "case.cancelled" for e in inside)
        appeal = any(e[0] == "case.appeal_reviewed" and e[4] for e in inside)
        closed = not ended and closed_at is not None
        due = not ended and (closed_at is not None or (deadline is not None and deadline < END))
        on_time = closed and (
            deadline is None or (resolved_at is not None and resolved_at <= deadline) or (adjusted and appeal)
        )
        counts = out.setdefault(department, [0, 0, 0, 0, 0])
        reworked = due and any(e[0] == "case.reopened" for e in inside)
        for index, flag in enumerate((True, due, closed, on_time, reworked)):
            counts[index] += int(flag)
    return {key: tuple(v) for key, v in out.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=logs)
async def test_the_figures_are_the_cohort_worked_out_case_by_case(client, tokens, db, log):
    async with logged(client, tokens, db, log) as cases:
        for adjusted in (False, True):
            got = {
                f.key: (f.filed, f.due, f.closed, f.closed_on_time, f.reworked)
                for f in await db_stats.figures(db, start=START, end=END, group_by="department", adjusted=adjusted)
                if f.filed
            }
            assert got == oracle(log, cases, adjusted), adjusted

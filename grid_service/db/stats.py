"""Performance statistics, computed from the event log alone (so a past period always gives the same
figures): each event carries the department it counts for; category and cell never change on a case.

The assessment figures (SPEC §12) follow the cohort of the period [from, to): the cases *filed* in it
(filed at once on intake, or by a receiver), each judged *as of the period's end* from its events
before it, and counted for the department of its last dispatch before then:
  filed               立案数: the cohort
  due                 应结案数: cohort cases not cancelled by the end whose deadline fell before it, or
                      that were closed by then (a case returned since its last dispatch has none)
  closed              结案数: cohort cases closed by the end (after a passed check, or self-handled)
  closed_on_time      按期结案数: of those, last resolved by their deadline
  reworked            返工数: due cohort cases sent back for rework at least once
so that closed <= due, closed_on_time <= closed and reworked <= due: every rate is in [0, 1].
Raw figures (按原期) judge by the deadline of the last dispatch; adjusted ones (按批准期) by the
deadline in force (approved extensions, suspensions resumed), a case still suspended at the end is
not due unless closed, and a case whose timeout appeal was approved counts as closed on time.

Figures of the period's flow, beside them:
  reported            cases created in the period (counted for the department on their case.created:
                      the one routed to on intake, none for a report awaiting filing)
  dispatched          cases dispatched in it, first time or again (distinct cases with case.dispatched)
  rejected            rejections by departments in it (counted against the rejecting one)
  overdue_open        cases recorded overdue before the end of the period and not resolved,
                      closed, cancelled, rejected or re-dispatched since (as of the end), counted for
                      the department of their last overdue record
  median_hours_to_close  median of closed - created, over the period's closures

How they are read: each case's events are folded into one row of case_facts as they are written
(migration 0020). A period reads the rows of the cases it is about (filed, created or closed in it,
or recorded overdue and not finished before it); a row that has moved on past the period's end is
folded again from the events up to it, by the same definition (case_facts_as_of). Only dispatches
and returns, which a case may have many of, are counted from the period's events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from grid_service.db.pool import Conn
from grid_service.db.rows import FiguresRow

GroupBy = Literal["department", "category", "street", "grid", "source"]

# The facts of the cases `chosen` (a condition on case_facts f) as they stood at $2.
FACTS_OF = """
candidates AS MATERIALIZED (
    SELECT f.* FROM case_facts f WHERE {chosen}
), facts AS MATERIALIZED (  -- (the cases folded again, once)
    SELECT c.* FROM candidates c WHERE c.last_at < $2
    UNION ALL
    SELECT r.* FROM case_facts_as_of(ARRAY(SELECT c.case_id FROM candidates c WHERE c.last_at >= $2), $2) AS r
)"""
FILED_IN_PERIOD = "f.filed_at >= $1 AND f.filed_at < $2"
# Every case a figure of [$1, $2) may count: filed, created or closed in it, or recorded overdue
# before its end and not finished before it began.
FACTS = FACTS_OF.format(
    chosen=f"""({FILED_IN_PERIOD}) OR (f.created_at >= $1 AND f.created_at < $2)
        OR (f.closure_at >= $1 AND f.closure_at < $2)
        OR (f.first_overdue_at < $2 AND (f.finished_at IS NULL OR f.finished_at >= $1))"""
)
# A case judged as of the end: its deadline raw (按原期: its last dispatch's) and in force (按批准期:
# after approved extensions and resumes, none while suspended), neither once returned since its
# last dispatch; the one $3 asks for (adjusted or not); closed; due by that deadline.
JUDGEMENT_BY = """
SELECT d.raw, d.in_force, CASE WHEN {adjusted} THEN d.in_force ELSE d.raw END AS deadline,
       NOT f.ended AND f.closed_at IS NOT NULL AS closed,
       NOT f.ended AND (f.closed_at IS NOT NULL OR CASE WHEN {adjusted} THEN d.in_force ELSE d.raw END < $2) AS due
  FROM (SELECT CASE WHEN r.returned THEN NULL ELSE f.raw_deadline END AS raw,
               CASE WHEN r.returned OR coalesce(f.paused_seq, 0) > coalesce(f.resumed_seq, 0) THEN NULL
                    ELSE f.adjusted_deadline END AS in_force
          FROM (SELECT coalesce(f.rejected_seq, 0) > coalesce(f.dispatch_seq, 0) AS returned) AS r) AS d"""
ON_TIME_BY = "(v.deadline IS NULL OR f.resolved_at <= v.deadline OR ({adjusted} AND f.appeal_approved))"
# Judged as $3 asks (the bulletin's), or as the row's a.adjusted says (the figures, which may count
# raw and adjusted in one pass over the facts).
JUDGEMENT = JUDGEMENT_BY.format(adjusted="$3::boolean")
BY_ROW = "a.adjusted"
# The cohort (the cases filed in the period), judged.
JUDGED = f"""
judged AS (
    SELECT f.*, v.* FROM facts f CROSS JOIN LATERAL ({JUDGEMENT}) AS v WHERE {FILED_IN_PERIOD}
)"""
# Recorded overdue and, as of the end, not resolved, closed, cancelled, rejected or re-dispatched
# since (or reopened since); finished before the period began: not open in it.
OVERDUE_OPEN = """f.overdue_seq IS NOT NULL
                   AND (f.ending_seq IS NULL OR f.ending_seq < f.overdue_seq OR f.ending_seq = f.reopened_seq)
                   AND (f.finished_at IS NULL OR f.finished_at >= $1)"""
# A case's key under each grouping but the department's; '' for "no group" (no department, outside
# the grid): NULL keys would not meet in the FULL JOINs below, and no code is empty.
CASE_KEYS = {
    "category": "c.category",
    "street": "left(c.grid_code, 9)",
    "grid": "c.grid_code",
    "source": "c.source",
}
# The facts are counted in one pass: each case in each figure it counts in, under the key that
# figure counts it for (by department: the last dispatch's for the cohort, the first routing's for
# `reported`, the last overdue record's for `overdue_open`), one grouping set per key.
STATS = f"""
WITH {{facts}}, keyed AS {{keyed}} (
    SELECT f.*, {{keys}} FROM facts f {{case_join}}
), tallies AS (
    SELECT CASE WHEN GROUPING(f.cohort_key) = 0 THEN 1 WHEN GROUPING(f.created_key) = 0 THEN 2 ELSE 3 END AS what,
           a.adjusted, coalesce(f.cohort_key, f.created_key, f.overdue_key) AS key,
           count(*) FILTER (WHERE n.cohort) AS filed,
           count(*) FILTER (WHERE n.cohort AND v.due) AS due,
           count(*) FILTER (WHERE n.cohort AND v.closed) AS closed,
           count(*) FILTER (WHERE n.cohort AND v.closed AND {ON_TIME_BY.format(adjusted=BY_ROW)}) AS closed_on_time,
           count(*) FILTER (WHERE n.cohort AND v.due AND f.reworked) AS reworked,
           count(*) FILTER (WHERE n.created) AS reported,
           count(*) FILTER (WHERE n.overdue) AS overdue_open
      FROM keyed f
     CROSS JOIN {{judgements}} AS a(adjusted)
     CROSS JOIN LATERAL ({JUDGEMENT_BY.format(adjusted=BY_ROW)}) AS v
     CROSS JOIN LATERAL (SELECT {FILED_IN_PERIOD} AS cohort, f.created_at >= $1 AND f.created_at < $2 AS created,
                                {OVERDUE_OPEN} AS overdue) AS n
     GROUP BY GROUPING SETS ((a.adjusted, f.cohort_key), (a.adjusted, f.created_key), (a.adjusted, f.overdue_key))
), counted AS (
    SELECT adjusted, key, sum(filed) FILTER (WHERE what = 1) AS filed, sum(due) FILTER (WHERE what = 1) AS due,
           sum(closed) FILTER (WHERE what = 1) AS closed, sum(closed_on_time) FILTER (WHERE what = 1) AS closed_on_time,
           sum(reworked) FILTER (WHERE what = 1) AS reworked, sum(reported) FILTER (WHERE what = 2) AS reported,
           sum(overdue_open) FILTER (WHERE what = 3) AS overdue_open
      FROM tallies
     GROUP BY adjusted, key
    HAVING coalesce(sum(filed) FILTER (WHERE what = 1), 0) + coalesce(sum(reported) FILTER (WHERE what = 2), 0)
           + coalesce(sum(overdue_open) FILTER (WHERE what = 3), 0) > 0  -- a key that counts nothing is no group
), closures AS (
    SELECT f.closure_key AS key,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.closure_at - f.created_at) / 3600)
               AS median_hours_to_close
      FROM keyed f
     WHERE f.closure_at >= $1 AND f.closure_at < $2
     GROUP BY 1
), moves AS (
    SELECT {{event_key}} AS key,
           count(*) FILTER (WHERE e.dispatched) AS dispatched, sum(e.rejected) AS rejected
      FROM (SELECT e.case_id, {{event_department}} AS department, bool_or(e.type = 'case.dispatched') AS dispatched,
                   count(*) FILTER (WHERE e.type = 'case.rejected') AS rejected
              FROM events e
             WHERE e.at >= $1 AND e.at < $2 AND e.type IN ('case.dispatched', 'case.rejected')
             GROUP BY 1, 2) AS e {{event_join}}
     GROUP BY 1
), flows AS (  -- what does not depend on the deadline judged by, under each judgement
    SELECT a.adjusted, key, m.dispatched, m.rejected, c.median_hours_to_close
      FROM moves m FULL JOIN closures c USING (key) CROSS JOIN {{judgements}} AS a(adjusted)
)
SELECT nullif(key, '') AS key, coalesce(reported, 0)::bigint AS reported, coalesce(dispatched, 0) AS dispatched,
       coalesce(filed, 0)::bigint AS filed, coalesce(closed, 0)::bigint AS closed,
       coalesce(closed_on_time, 0)::bigint AS closed_on_time, coalesce(rejected, 0)::bigint AS rejected,
       coalesce(reworked, 0)::bigint AS reworked, coalesce(due, 0)::bigint AS due,
       coalesce(overdue_open, 0)::bigint AS overdue_open, median_hours_to_close, adjusted
  FROM flows FULL JOIN counted USING (adjusted, key)
 ORDER BY adjusted, 1 NULLS LAST
"""
ONE_JUDGEMENT = "(VALUES ($3::boolean))"  # raw or adjusted, as asked
BOTH_JUDGEMENTS = "(VALUES (false), (true))"  # both, from one reading of the facts


def _statement(group_by: str, judgements: str) -> str:
    if group_by == "department":  # every key is on the facts or the events: no case is read for it
        return STATS.format(
            facts=FACTS,
            judgements=judgements,
            keys="""coalesce(f.department, '') AS cohort_key,
                    coalesce(f.created_department, '') AS created_key,
                    coalesce(f.closure_department, '') AS closure_key,
                    coalesce(f.overdue_department, '') AS overdue_key""",
            keyed="NOT MATERIALIZED",  # the facts as they are, with their keys named
            case_join="",
            event_key="coalesce(e.department, '')",
            event_department="e.department",  # a case dispatched to two departments counts for each
            event_join="",
        )
    key = f"coalesce({CASE_KEYS[group_by]}, '')"
    return STATS.format(
        facts=FACTS,
        judgements=judgements,
        keys=f"{key} AS cohort_key, {key} AS created_key, {key} AS closure_key, {key} AS overdue_key",
        keyed="MATERIALIZED",  # each case read once for its key
        case_join="JOIN cases c ON c.id = f.case_id",
        event_key=key,
        event_department="NULL::text",
        event_join="JOIN cases c ON c.id = e.case_id",
    )


GROUPINGS = ("department", *CASE_KEYS)
STATEMENTS = {group_by: _statement(group_by, ONE_JUDGEMENT) for group_by in GROUPINGS}
BOTH_STATEMENTS = {group_by: _statement(group_by, BOTH_JUDGEMENTS) for group_by in GROUPINGS}


# Which statements counted a kept period's figures: another release's are not used.
VERSION = hashlib.sha256("".join(BOTH_STATEMENTS[g] for g in sorted(BOTH_STATEMENTS)).encode()).hexdigest()[:16]
KEPT = """
SELECT figures FROM figures_kept
 WHERE version = $1 AND start_at = $2 AND end_at = $3 AND group_by = $4 AND adjusted = $5
"""
KEEP = """
INSERT INTO figures_kept (version, start_at, end_at, group_by, adjusted, figures) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT DO NOTHING
"""
# A period is kept once it ended this long ago: events are written at their own instant, so none
# written later can fall inside it, and the margin covers clocks of workers a little apart.
SETTLED_AFTER = dt.timedelta(minutes=5)


async def figures(
    conn: Conn,
    *,
    start: dt.datetime,
    end: dt.datetime,
    group_by: GroupBy,
    adjusted: bool = False,
    now: dt.datetime | None = None,
) -> list[FiguresRow]:
    """The period's figures per group. With ``now`` given and the period ended before it, they are
    computed once and kept (figures_kept): a past period's figures never change. Raw and adjusted
    are then counted together, from one reading of the facts (the page asks for both), under a lock
    of the period: a caller asking while another counts waits for those figures instead of counting
    them again, on this worker or another."""
    if now is None or end > now - SETTLED_AFTER:
        return [row for row, _ in await _figures(conn, STATEMENTS[group_by], start, end, adjusted)]
    kept = await conn.fetchval(KEPT, VERSION, start, end, group_by, adjusted)
    if kept is not None:
        return [FiguresRow(*row) for row in kept]
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", period_lock(start, end, group_by))
        kept = await conn.fetchval(KEPT, VERSION, start, end, group_by, adjusted)
        if kept is not None:  # counted by the caller we waited for
            return [FiguresRow(*row) for row in kept]
        rows = await _figures(conn, BOTH_STATEMENTS[group_by], start, end)
        both = {flag: [row for row, its in rows if its == flag] for flag in (False, True)}
        for flag, figures_of in both.items():
            await conn.execute(KEEP, VERSION, start, end, group_by, flag, [list(row) for row in figures_of])
    return both[adjusted]


def period_lock(start: dt.datetime, end: dt.datetime, group_by: str) -> int:
    digest = hashlib.blake2b(f"figures {start.isoformat()} {end.isoformat()} {group_by}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


async def _figures(
    conn: Conn, statement: str, start: dt.datetime, end: dt.datetime, *adjusted: bool
) -> list[tuple[FiguresRow, bool]]:
    """Each group's figures, with whether they are the adjusted ones (``adjusted``: the one
    judgement the statement takes; none for the statement that counts both)."""
    async with conn.transaction(readonly=not conn.is_in_transaction()):
        # The plan is costly enough for PostgreSQL to JIT-compile it, which takes longer than running it;
        # its groupings are hashed in memory rather than sorted on disk.
        await conn.execute("SET LOCAL jit = off")
        await conn.execute("SET LOCAL work_mem = '64MB'")
        records = await conn.fetch(statement, start, end, *adjusted)
    return [(FiguresRow(*record[:-1]), record["adjusted"]) for record in records]

"""Performance statistics, computed from the event log alone (so a past period always gives the same
figures): each event carries the department it counts for; category and cell never change on a case.

The assessment figures (SPEC §12) follow the cohort of the period [from, to): the cases *filed* in it
(filed at once on intake, or by a receiver), each judged *as of the period's end* from the events
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
  reported            cases created in the period (case.created)
  dispatched          cases dispatched in it, first time or again (distinct cases with case.dispatched)
  rejected            rejections by departments in it (counted against the rejecting one)
  overdue_open        cases recorded overdue before the end of the period and not resolved,
                      closed, cancelled, rejected or re-dispatched since (as of the end)
  median_hours_to_close  median of closed - created, over the period's closures
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from grid_service.db.pool import Conn
from grid_service.db.rows import FiguresRow, many

GroupBy = Literal["department", "category", "street", "grid", "source"]

# The group of an event row `x` joined to its case `c`; $3 names the grouping.
# '' for "no group" (no department, outside the grid): NULL keys would not meet in the FULL JOINs
# below, and no code is empty.
KEY = """coalesce(CASE $3::text WHEN 'department' THEN {x}.department WHEN 'category' THEN c.category
                  WHEN 'street' THEN left(c.grid_code, 9) WHEN 'source' THEN c.source ELSE c.grid_code END, '')"""
# The cohort: the cases filed in the period (at once on intake, or by a receiver).
FILED = """
SELECT f.case_id FROM events f
 WHERE f.at >= $1 AND f.at < $2
   AND (f.type = 'case.filed' OR (f.type = 'case.created' AND coalesce(f.data->>'status', '') <> 'reported'))
"""
# Each cohort case as of the end ($2), from its events in the period alone: everything judged comes
# after the filing (its last dispatch's department and deadline, the deadline in force after approved
# extensions and resumes, suspended or not, closed, resolved, reworked, ended, appeal approved). One
# pass over the period's events, grouped by case, rather than a probe of each case's history.
JUDGED = f"""
SELECT x.case_id,
       (array_agg(x.department ORDER BY x.seq DESC) FILTER (WHERE x.type = 'case.dispatched'))[1] AS department,
       (array_agg(x.deadline_at ORDER BY x.seq DESC) FILTER (WHERE x.type = 'case.dispatched'))[1] AS raw_deadline,
       (array_agg(CASE WHEN x.type = 'case.dispatched' THEN x.deadline_at
                       ELSE (x.data->>'deadline_at')::timestamptz END ORDER BY x.seq DESC)
            FILTER (WHERE x.type IN ('case.dispatched', 'case.resumed')
                       OR (x.type = 'case.extension_decided' AND (x.data->>'approve')::boolean)))[1]
           AS adjusted_deadline,
       coalesce(max(x.seq) FILTER (WHERE x.type = 'case.suspension_decided' AND (x.data->>'approve')::boolean), 0)
           > coalesce(max(x.seq) FILTER (WHERE x.type = 'case.resumed'), 0) AS suspended,
       max(x.at) FILTER (WHERE x.type = 'case.closed'
                            OR (x.type = 'case.created' AND x.data->>'status' = 'closed')) AS closed_at,
       max(x.at) FILTER (WHERE x.type = 'case.resolved') AS resolved_at,
       bool_or(x.type = 'case.reopened') AS reworked,
       bool_or(x.type IN ('case.cancelled', 'case.voided')) AS ended,
       bool_or(x.type = 'case.appeal_reviewed' AND (x.data->>'approved')::boolean) AS appeal_approved,
       -- returned since its last dispatch: no deadline is in force at the end
       coalesce(max(x.seq) FILTER (WHERE x.type = 'case.rejected'), 0)
           > coalesce(max(x.seq) FILTER (WHERE x.type = 'case.dispatched'), 0) AS returned
  FROM events x
 WHERE x.at >= $1 AND x.at < $2 AND x.case_id IN ({FILED})
   AND x.type IN ('case.created', 'case.filed', 'case.dispatched', 'case.resumed', 'case.extension_decided',
                  'case.suspension_decided', 'case.closed', 'case.resolved', 'case.reopened', 'case.cancelled',
                  'case.voided', 'case.appeal_reviewed', 'case.rejected')
 GROUP BY x.case_id
"""
STATS = f"""
WITH flow AS (
    SELECT {KEY.format(x="e")} AS key,
           count(*) FILTER (WHERE e.type = 'case.created') AS reported,
           count(DISTINCT e.case_id) FILTER (WHERE e.type = 'case.dispatched') AS dispatched,
           count(*) FILTER (WHERE e.type = 'case.rejected') AS rejected,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - c.created_at) / 3600)
               FILTER (WHERE e.type = 'case.closed') AS median_hours_to_close
      FROM events e JOIN cases c ON c.id = e.case_id
     WHERE e.at >= $1 AND e.at < $2
       AND e.type IN ('case.created', 'case.dispatched', 'case.closed', 'case.rejected')
     GROUP BY 1
), cohort AS (
    SELECT {KEY.format(x="j")} AS key,
           count(*) AS filed,
           count(*) FILTER (WHERE v.due) AS due,
           count(*) FILTER (WHERE v.closed) AS closed,
           count(*) FILTER (WHERE v.closed AND v.on_time) AS closed_on_time,
           count(*) FILTER (WHERE v.due AND j.reworked) AS reworked
      FROM ({JUDGED}) AS j
      JOIN cases c ON c.id = j.case_id
     CROSS JOIN LATERAL (
         SELECT CASE WHEN j.returned THEN NULL
                     WHEN NOT $4::boolean THEN j.raw_deadline
                     WHEN j.suspended THEN NULL
                     ELSE j.adjusted_deadline END AS deadline
     ) AS d
     CROSS JOIN LATERAL (
         SELECT NOT j.ended AND j.closed_at IS NOT NULL AS closed,
                NOT j.ended AND (j.closed_at IS NOT NULL OR d.deadline < $2) AS due,
                d.deadline IS NULL OR j.resolved_at <= d.deadline OR ($4 AND j.appeal_approved) AS on_time
     ) AS v
     GROUP BY 1
), overdue AS (
    -- Cases finished before the period began cannot be open at its end: they are passed over before
    -- their later events are read (the OFFSET 0 keeps that order).
    SELECT o.key, count(DISTINCT o.case_id) AS overdue_open
      FROM (SELECT {KEY.format(x="o")} AS key, o.case_id, o.seq
              FROM events o JOIN cases c ON c.id = o.case_id
             WHERE o.type = 'case.overdue' AND o.at < $2
               AND NOT (c.status IN ('closed', 'cancelled', 'voided') AND c.updated_at < $1)
            OFFSET 0) AS o
     WHERE coalesce((SELECT later.type FROM events later
                      WHERE later.case_id = o.case_id AND later.seq > o.seq AND later.at < $2
                        AND later.type IN ('case.resolved', 'case.closed', 'case.cancelled', 'case.rejected',
                                           'case.dispatched', 'case.reopened')
                      ORDER BY later.seq DESC LIMIT 1), 'case.reopened') = 'case.reopened'
     GROUP BY 1
)
SELECT nullif(key, '') AS key, coalesce(reported, 0) AS reported, coalesce(dispatched, 0) AS dispatched,
       coalesce(filed, 0) AS filed, coalesce(closed, 0) AS closed, coalesce(closed_on_time, 0) AS closed_on_time,
       coalesce(rejected, 0) AS rejected, coalesce(reworked, 0) AS reworked,
       coalesce(due, 0) AS due, coalesce(overdue_open, 0) AS overdue_open, median_hours_to_close
  FROM flow FULL JOIN cohort USING (key) FULL JOIN overdue USING (key)
 ORDER BY 1 NULLS LAST
"""


async def figures(
    conn: Conn, *, start: dt.datetime, end: dt.datetime, group_by: GroupBy, adjusted: bool = False
) -> list[FiguresRow]:
    async with conn.transaction(readonly=True):
        # The plan is costly enough for PostgreSQL to JIT-compile it, which takes longer than running
        # it (0.9 of 1.6 s on a month of a million cases); it runs fast without.
        await conn.execute("SET LOCAL jit = off")
        return many(FiguresRow, await conn.fetch(STATS, start, end, group_by, adjusted))

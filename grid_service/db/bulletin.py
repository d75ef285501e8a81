"""The monthly bulletin's figures (月度通报, SPEC §12): the month's cohort by source, department,
street and category, raw and adjusted, in one pass; the categories filed most, against the month
before and the same month a year before; self-disposals and suspensions."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from grid_service.db.pool import Conn
from grid_service.db.stats import FACTS_OF, FILED_IN_PERIOD, JUDGED

# The cohort once, judged once, counted for every grouping at once, raw and adjusted side by side
# (by JUDGED's raw and in-force deadlines; its own `deadline` and `due` are not read).
COHORT_GROUPS = f"""
WITH {FACTS_OF.format(chosen=FILED_IN_PERIOD)}, {JUDGED}, cases_judged AS (
    SELECT j.*, c.category, left(c.grid_code, 9) AS street, c.source FROM judged j JOIN cases c ON c.id = j.case_id
)
SELECT CASE WHEN GROUPING(source) = 0 THEN 'source' WHEN GROUPING(department) = 0 THEN 'department'
            WHEN GROUPING(street) = 0 THEN 'street' ELSE 'category' END AS grouping,
       coalesce(source, department, street, category) AS key,
       count(*) AS filed,
       count(*) FILTER (WHERE NOT ended AND (closed_at IS NOT NULL OR raw < $2)) AS due,
       count(*) FILTER (WHERE NOT ended AND (closed_at IS NOT NULL OR in_force < $2)) AS due_adjusted,
       count(*) FILTER (WHERE closed) AS closed,
       count(*) FILTER (WHERE closed AND (raw IS NULL OR resolved_at <= raw)) AS on_time,
       count(*) FILTER (WHERE closed AND (in_force IS NULL OR resolved_at <= in_force OR appeal_approved))
           AS on_time_adjusted,
       count(*) FILTER (WHERE reworked AND NOT ended AND (closed_at IS NOT NULL OR raw < $2)) AS reworked
  FROM cases_judged
 GROUP BY GROUPING SETS ((source), (department), (street), (category))
 ORDER BY 1, 2 NULLS LAST
"""
# Cases filed per category in a period (the cohort's size), for 环比 and 同比: a filing never changes.
FILED_BY_CATEGORY = f"""
SELECT c.category AS key, count(*) AS filed
  FROM case_facts f JOIN cases c ON c.id = f.case_id
 WHERE {FILED_IN_PERIOD}
 GROUP BY 1
"""
OTHERS = """
SELECT count(*) FILTER (WHERE type = 'case.created' AND data->>'status' = 'closed') AS self_handled,
       count(*) FILTER (WHERE type = 'case.suspension_decided' AND (data->>'approve')::boolean) AS suspended,
       count(*) FILTER (WHERE type = 'case.resumed') AS resumed,
       count(*) FILTER (WHERE type = 'case.extension_decided' AND (data->>'approve')::boolean) AS extended,
       count(*) FILTER (WHERE type = 'case.appeal_reviewed' AND (data->>'approved')::boolean) AS appeals_approved
  FROM events
 WHERE at >= $1 AND at < $2
   AND type IN ('case.created', 'case.suspension_decided', 'case.resumed', 'case.extension_decided',
                'case.appeal_reviewed')
"""


class CohortGroup(NamedTuple):
    grouping: str  # source, department, street or category
    key: str | None
    filed: int
    due: int
    due_adjusted: int
    closed: int
    on_time: int
    on_time_adjusted: int
    reworked: int


async def cohort_groups(conn: Conn, *, start: dt.datetime, end: dt.datetime) -> list[CohortGroup]:
    """In the caller's transaction (read only, jit off: see figures_of_month)."""
    return [CohortGroup(*r) for r in await conn.fetch(COHORT_GROUPS, start, end, False)]


async def filed_by_category(conn: Conn, *, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    return {r["key"]: r["filed"] for r in await conn.fetch(FILED_BY_CATEGORY, start, end)}


async def others(conn: Conn, *, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    row = await conn.fetchrow(OTHERS, start, end)
    return dict(row) if row else {}

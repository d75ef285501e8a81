"""Figures per person of the loop (SPEC §12: group_by inspector, receiver, dispatcher), from the
event log and the check tasks alone, for the period [start, end). A person is the name of the
token that acted (the part of an event's actor after the role).

inspector   reported        reports the inspector's token sent
            valid           of those, reports whose case was filed (at intake, or by a receiver)
                            and not voided, by the period's end
            check_report_on_time / check_result_on_time
                            checks of each kind the inspector completed, and of those on time
            self_handled    cases the inspector handled on the spot
receiver    accepted        reported cases filed or voided (受理数)
            filed, filed_on_time
                            cases filed, and of those filed by their 上报→受理 limit (the step's
                            due time, recorded in the filing's event)
dispatcher  dispatched, dispatched_on_time
                            dispatches by hand, and of those made by the 立案→派遣 limit (recorded
                            in the dispatch's event; a re-dispatch of a running case has no step)
            returned        dispatches returned and ruled the dispatcher's fault (仲裁, SPEC §11) by
                            the end of the period: a return the ruling blames on the department, or
                            on no one, does not count against the dispatcher
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from grid_service.db.pool import Conn
from grid_service.db.rows import DispatcherFigures, InspectorFigures, ReceiverFigures, many

Position = Literal["inspector", "receiver", "dispatcher"]
PERSON = "split_part({x}.actor, ':', 2)"

INSPECTOR = f"""
WITH sent AS (
    SELECT t.name AS key, count(*) AS reported,
           count(*) FILTER (WHERE (
                 EXISTS (SELECT 1 FROM events f WHERE f.case_id = r.case_id AND f.at < $2
                          AND (f.type = 'case.filed'
                               OR (f.type = 'case.created' AND f.data->>'status' IS DISTINCT FROM 'reported'))))
             AND NOT EXISTS (SELECT 1 FROM events v WHERE v.case_id = r.case_id AND v.at < $2
                              AND v.type = 'case.voided')) AS valid
      FROM reports r JOIN api_tokens t ON t.id = r.token_id
     WHERE t.role = 'inspector' AND r.received_at >= $1 AND r.received_at < $2
     GROUP BY t.name
), checks AS (
    SELECT split_part(k.completed_by, ':', 2) AS key,
           count(*) FILTER (WHERE k.kind = 'check_report') AS check_report_done,
           count(*) FILTER (WHERE k.kind = 'check_report' AND k.completed_at <= k.due_at) AS check_report_on_time,
           count(*) FILTER (WHERE k.kind = 'check_result') AS check_result_done,
           count(*) FILTER (WHERE k.kind = 'check_result' AND k.completed_at <= k.due_at) AS check_result_on_time
      FROM tasks k
     WHERE k.status = 'done' AND k.completed_at >= $1 AND k.completed_at < $2
       AND split_part(k.completed_by, ':', 1) = 'inspector'
     GROUP BY 1
), own AS (
    SELECT {PERSON.format(x="e")} AS key, count(*) AS self_handled
      FROM events e
     WHERE e.type = 'case.closed' AND (e.data->>'self_handled')::boolean AND e.at >= $1 AND e.at < $2
     GROUP BY 1
)
SELECT key, coalesce(reported, 0) AS reported, coalesce(valid, 0) AS valid,
       coalesce(check_report_done, 0) AS check_report_done,
       coalesce(check_report_on_time, 0) AS check_report_on_time,
       coalesce(check_result_done, 0) AS check_result_done,
       coalesce(check_result_on_time, 0) AS check_result_on_time,
       coalesce(self_handled, 0) AS self_handled
  FROM sent FULL JOIN checks USING (key) FULL JOIN own USING (key)
 ORDER BY key
"""
RECEIVER = f"""
SELECT {PERSON.format(x="e")} AS key,
       count(*) AS accepted,
       count(*) FILTER (WHERE e.type = 'case.filed') AS filed,
       count(*) FILTER (WHERE e.type = 'case.filed'
                          AND e.at <= coalesce((e.data->>'step_due_at')::timestamptz, e.at)) AS filed_on_time
  FROM events e
 WHERE e.type IN ('case.filed', 'case.voided') AND e.at >= $1 AND e.at < $2
   AND split_part(e.actor, ':', 1) IN ('receiver', 'shift_lead', 'admin')
 GROUP BY 1
 ORDER BY 1
"""
DISPATCHER = f"""
SELECT {PERSON.format(x="d")} AS key,
       count(*) AS dispatched,
       count(*) FILTER (WHERE d.at <= coalesce((d.data->>'step_due_at')::timestamptz, d.at)) AS dispatched_on_time,
       -- returned and ruled the dispatcher's fault (仲裁), by the end: the ruling names the dispatch
       -- that was returned by its actor
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM events r WHERE r.case_id = d.case_id AND r.seq > d.seq AND r.type = 'case.ruled'
              AND r.at < $2 AND r.data->>'fault' = 'dispatcher' AND r.data->>'dispatcher' = d.actor)) AS returned
  FROM events d
 WHERE d.type = 'case.dispatched' AND d.at >= $1 AND d.at < $2
   AND split_part(d.actor, ':', 1) IN ('dispatcher', 'shift_lead', 'admin')
 GROUP BY 1
 ORDER BY 1
"""
Figures = InspectorFigures | ReceiverFigures | DispatcherFigures
QUERIES: dict[Position, tuple[str, type[Figures]]] = {
    "inspector": (INSPECTOR, InspectorFigures),
    "receiver": (RECEIVER, ReceiverFigures),
    "dispatcher": (DISPATCHER, DispatcherFigures),
}


async def figures(conn: Conn, position: Position, *, start: dt.datetime, end: dt.datetime) -> list[Figures]:
    query, row = QUERIES[position]
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL jit = off")  # as for db/stats.py: the plan costs more to compile than to run
        return many(row, await conn.fetch(query, start, end))

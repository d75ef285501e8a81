"""GET /api/v1/tasks (the caller's check tasks, long-polling like the queue) and POST .../complete."""

from __future__ import annotations

import uuid

from aiohttp import web

from grid_service import keys
from grid_service.auth import Principal
from grid_service.db import tasks as db_tasks
from grid_service.db.pool import Conn
from grid_service.db.rows import TaskView
from grid_service.errors import NotFound, ValidationFailed, field_error
from grid_service.flows import tasks as task_flow
from grid_service.handlers.common import json_response, principal, read_json, validate, validate_query
from grid_service.handlers.queue import decode_cursor, encode_cursor, follow_log
from grid_service.presenters import present_check
from grid_service.schemas import CompleteTaskBody, Role, TaskQuery


def whose(caller: Principal, query: TaskQuery) -> tuple[str, ...]:
    """The lists the caller reads: an inspector's own and the checks nobody answers for (any
    inspector may do those); the latter for receivers and shift leads; an admin's choice."""
    if query.inspector is not None and caller.role is not Role.ADMIN:
        raise ValidationFailed("only an admin names the inspector", details=[field_error(["inspector"], "admin only")])
    if caller.role is Role.INSPECTOR:
        return (db_tasks.audience(caller.name), db_tasks.RECEIVERS)
    return (db_tasks.audience(query.inspector),)


async def list_tasks(request: web.Request) -> web.Response:
    query = validate_query(TaskQuery, request)
    audiences = whose(principal(request), query)

    async def read(conn: Conn, after: int, upto: int) -> tuple[list[tuple[TaskView, int]], int]:
        rows = await db_tasks.changed_for(conn, audiences, after=after, upto=upto, limit=query.limit)
        position = rows[-1][1] if len(rows) == query.limit else upto
        # The status filter comes after the page: the cursor still passes the tasks it leaves out.
        kept = [(t, seq) for t, seq in rows if query.status is None or t.status == query.status]
        return kept, position

    rows, position = await follow_log(request, audiences, decode_cursor(query.after), query.wait, read)
    snapshot = request.app[keys.CONFIG].current
    tz = snapshot.calendar.timezone
    now = request.app[keys.CLOCK]()
    tasks = [{**present_check(t, snapshot.labels, tz, now), "seq": seq} for t, seq in rows]
    return json_response({"tasks": tasks, "cursor": encode_cursor(position)})


async def complete_task(request: web.Request) -> web.Response:
    try:
        task_id = uuid.UUID(request.match_info["task_id"])
    except ValueError as exc:
        raise NotFound("no such task") from exc
    body = validate(CompleteTaskBody, await read_json(request))
    await task_flow.complete(
        request.app[keys.POOL],
        task_id=task_id,
        caller=principal(request),
        body=body,
        snapshot=request.app[keys.CONFIG].current,
        now=request.app[keys.CLOCK](),
        timeout=request.app[keys.SETTINGS].db_timeout_s,
        on_commit=request.app[keys.NOTIFIER].published,
    )
    return web.Response(status=204)

"""The check tasks' routes (SPEC §10): the caller's list, and completing one."""

from __future__ import annotations

from grid_service.handlers import tasks
from grid_service.routes.route import Route
from grid_service.schemas import CompleteTaskBody, Role, TaskIdPath, TaskPage, TaskQuery

TASK_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/v1/tasks",
        tasks.list_tasks,
        "tasks.list",
        frozenset({Role.INSPECTOR, Role.RECEIVER, Role.SHIFT_LEAD, Role.ADMIN}),
        "The caller's check tasks that changed after the cursor, oldest change first, each as it is now: an "
        "inspector's own and those nobody answers for (any inspector may do them); those nobody answers for "
        "for receivers and shift leads. With wait > 0 and nothing new, holds until a change is committed (by "
        "any worker) or the wait ends. Polling with the returned cursor never skips and never repeats a "
        "change. status filters what is shown as it is now: following status=open, a task's completion is "
        "not sent (poll without it to see tasks leave).",
        TaskPage,
        query=TaskQuery,
        errors=(422, 503),
    ),
    Route(
        "POST",
        "/api/v1/tasks/{task_id}/complete",
        tasks.complete_task,
        "tasks.complete",
        frozenset({Role.INSPECTOR, Role.SHIFT_LEAD, Role.ADMIN}),
        "Complete a check with its outcome (check_report: confirmed or not_found; check_result: passed or "
        "failed), at least one photo and where it was made: within task_distance_m of the case, else 422 "
        "too_far. The outcome applies to the case in the same transaction. 409 when it is done already.",
        None,
        status=204,
        body=CompleteTaskBody,
        path_params=TaskIdPath,
        errors=(400, 403, 404, 409, 415, 422, 503),
    ),
)

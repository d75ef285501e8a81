"""The whole URL map, every route named, with the roles allowed on it (deny by default)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from grid_service.domain.states import Action
from grid_service.handlers import cases, catalogue, grids, health, media, openapi, queue, reports
from grid_service.schemas import (
    AcceptBody,
    BatchResponse,
    CancelBody,
    CaseIdPath,
    CaseList,
    CaseListQuery,
    CaseRead,
    CategoryList,
    CellLocation,
    DepartmentList,
    DispatchBody,
    Health,
    LocateQuery,
    MediaStored,
    QueuePage,
    QueueQuery,
    RejectBody,
    ReportAccepted,
    ReportBatch,
    ReportCreate,
    ResolveBody,
    Role,
    VerifyBody,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EVERYONE = frozenset(Role)
READERS = frozenset({Role.INSPECTOR, Role.DEPARTMENT, Role.DISPATCHER, Role.VIEWER, Role.ADMIN})


@dataclass(frozen=True)
class Route:
    """One route; the OpenAPI document is generated from these fields and the models they name."""

    method: str
    path: str
    handler: Handler
    name: str
    roles: frozenset[Role] | None  # None: public (no token needed)
    summary: str
    response: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()


INTAKE_ERRORS = (400, 409, 413, 415, 422, 503)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", health.healthz, "healthz", None, "The process is alive.", Health),
    Route(
        "GET", "/readyz", health.readyz, "readyz", None, "Database reachable and grid loaded.", Health, errors=(503,)
    ),
    Route("GET", "/openapi.json", openapi.document, "openapi", None, "This OpenAPI 3.1 document."),
    Route(
        "POST",
        "/api/v1/reports",
        reports.create_report,
        "reports.create",
        frozenset({Role.INSPECTOR, Role.ADMIN}),
        "Submit one report. 201 when stored; 200 with the identical answer when the same inspector resends "
        "the same client_id with the same body; 409 when the body differs.",
        ReportAccepted,
        status=201,
        body=ReportCreate,
        errors=INTAKE_ERRORS,
    ),
    Route(
        "POST",
        "/api/v1/reports/batch",
        reports.create_report_batch,
        "reports.batch",
        frozenset({Role.INSPECTOR, Role.ADMIN}),
        "Submit up to 500 reports (a client coming back online); one result per item, in order.",
        BatchResponse,
        body=ReportBatch,
        errors=INTAKE_ERRORS,
    ),
    Route(
        "GET",
        "/api/v1/cases/{case_id}",
        cases.get_case,
        "cases.get",
        READERS,
        "A case with its reports and history. A department sees only its own department's cases.",
        CaseRead,
        path_params=CaseIdPath,
        errors=(404, 503),
    ),
    Route(
        "GET",
        "/api/v1/cases",
        cases.list_cases,
        "cases.list",
        READERS,
        "Cases, newest first, filtered by status (comma list), category, department, grid-code prefix, bbox and "
        "overdue; keyset pagination with the returned next cursor. A department sees its own cases only.",
        CaseList,
        query=CaseListQuery,
        errors=(422, 503),
    ),
    *(
        Route(
            "POST",
            f"/api/v1/cases/{{case_id}}/{action.value}",
            cases.action_handler(action, body),
            f"cases.{action.value}",
            frozenset(roles | {Role.ADMIN}),
            summary,
            CaseRead,
            body=body,
            path_params=CaseIdPath,
            errors=(400, 404, 409, 415, 422, 503),
        )
        for action, body, roles, summary in (
            (Action.ACCEPT, AcceptBody, {Role.DEPARTMENT}, "Accept a dispatched case: the department starts work."),
            (Action.RESOLVE, ResolveBody, {Role.DEPARTMENT}, "Report a case resolved, with after-photos."),
            (
                Action.REJECT,
                RejectBody,
                {Role.DEPARTMENT},
                "Reject a case back to the dispatcher: not this department's, wrongly located or incomplete.",
            ),
            (
                Action.DISPATCH,
                DispatchBody,
                {Role.DISPATCHER},
                "Dispatch or re-dispatch a case to a department; a new deadline starts.",
            ),
            (
                Action.VERIFY,
                VerifyBody,
                {Role.INSPECTOR},
                "Verify a resolved case on site: passed closes it, failed sends it back as rework.",
            ),
            (Action.CANCEL, CancelBody, {Role.DISPATCHER}, "Cancel a case that is not closed."),
        )
    ),
    Route(
        "GET",
        "/api/v1/queue",
        queue.department_queue,
        "queue.get",
        frozenset({Role.DEPARTMENT, Role.ADMIN}),
        "The caller's department's cases that changed after the cursor, oldest change first, each as it is "
        "now. With wait > 0 and nothing new, holds until a change is committed (by any worker) or the wait ends, "
        "then answers an empty list and the same cursor. Polling with the returned cursor never skips and "
        "never repeats a change.",
        QueuePage,
        query=QueueQuery,
        errors=(422, 503),
    ),
    Route(
        "POST",
        "/api/v1/media",
        media.upload,
        "media.upload",
        frozenset({Role.INSPECTOR, Role.DEPARTMENT, Role.ADMIN}),
        "Upload a photo (raw bytes as image/jpeg, image/png or image/webp, at most 10 MB). 201 when new, 200 "
        "when the same bytes were already stored; the id is the SHA-256 of the bytes.",
        MediaStored,
        status=201,
        errors=(413, 415, 422, 503),
    ),
    Route(
        "GET",
        "/api/v1/media/{media_id}",
        media.download,
        "media.get",
        READERS,
        "The photo's bytes.",
        errors=(404, 503),
    ),
    Route(
        "GET",
        "/api/v1/categories",
        catalogue.list_categories,
        "categories.list",
        READERS,
        "The event categories and their time limits.",
        CategoryList,
    ),
    Route(
        "GET",
        "/api/v1/departments",
        catalogue.list_departments,
        "departments.list",
        READERS,
        "The departments cases are routed to.",
        DepartmentList,
    ),
    Route(
        "GET",
        "/api/v1/grids/locate",
        grids.locate,
        "grids.locate",
        READERS,
        "The grid cell containing a point (404 outside_grid when none).",
        CellLocation,
        query=LocateQuery,
        errors=(404, 422),
    ),
)

ROLE_RULES: dict[str, frozenset[Role] | None] = {r.name: r.roles for r in ROUTES}


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)

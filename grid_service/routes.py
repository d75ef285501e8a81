"""The whole URL map, every route named, with the roles allowed on it (deny by default)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel

from grid_service.domain.states import Action
from grid_service.georeport import errors as open311_errors
from grid_service.georeport import models as open311
from grid_service.georeport.mapping import RequestForm as Open311Form
from grid_service.handlers import (
    cases,
    catalogue,
    feed,
    grids,
    health,
    map_view,
    media,
    openapi,
    queue,
    reports,
    stats,
)
from grid_service.handlers import (
    open311 as open311_handlers,
)
from grid_service.schemas import (
    AcceptBody,
    BatchResponse,
    CancelBody,
    CaseFeatureCollection,
    CaseIdPath,
    CaseList,
    CaseListQuery,
    CaseRead,
    CategoryList,
    CellFeatureCollection,
    CellLocation,
    DepartmentList,
    DispatchBody,
    ErrorEnvelope,
    FeedQuery,
    GridsQuery,
    Health,
    LocateQuery,
    MapCasesQuery,
    MediaStored,
    QueuePage,
    QueueQuery,
    RejectBody,
    ReportAccepted,
    ReportBatch,
    ReportCreate,
    ResolveBody,
    Role,
    StatsAnswer,
    StatsQuery,
    VerifyBody,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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
    content_type: str = "application/json"
    body_type: str = "application/json"
    raw_body: tuple[str, ...] = ()  # content types of a body taken as raw bytes (documented as binary)
    error_model: type[BaseModel] = ErrorEnvelope
    error_text: Mapping[int, str] | None = None  # what each error status means here, when not the native meaning
    also_xml: bool = False  # Open311: the same answer as text/xml when the path ends in .xml


INTAKE_ERRORS = (400, 409, 413, 415, 422, 503)

NATIVE_ROUTES: tuple[Route, ...] = (
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
        "Upload a photo (raw bytes as image/jpeg, image/png or image/webp, at most 10 MB, at most "
        "GRID_SERVICE_PHOTO_MAX_PIXELS pixels, decodable to its end). 201 when new, 200 when the same bytes "
        "were already stored; the id is the SHA-256 of the bytes.",
        MediaStored,
        status=201,
        errors=(413, 415, 422, 503),
        raw_body=media.PHOTO_TYPES,
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
    Route(
        "GET",
        "/api/v1/grids",
        grids.grids,
        "grids.list",
        READERS,
        "The current grid's cells touching the bbox (all without one), each with its open cases (a department "
        "token counts its own department's), as a GeoJSON "
        "FeatureCollection.",
        CellFeatureCollection,
        query=GridsQuery,
        errors=(422, 429, 503),
        content_type="application/geo+json",
    ),
    Route(
        "GET",
        "/api/v1/map/cases",
        map_view.map_cases,
        "map.cases",
        READERS,
        "Cases in the bbox (open ones, or all with status=all) as a GeoJSON FeatureCollection of points, each "
        "with its light; seq is where the live feed continues (GET /api/v1/feed?after=seq). A department sees "
        "its own cases only. However many cases, an answer is read and written a page at a time (chunked when "
        "longer than one page), so its cost in memory stays bounded; a cut connection means an unfinished "
        "answer.",
        CaseFeatureCollection,
        query=MapCasesQuery,
        errors=(422, 429, 503),
        content_type="application/geo+json",
    ),
    Route(
        "GET",
        "/api/v1/feed",
        feed.feed,
        "feed",
        READERS,
        "Every case event as Server-Sent Events: id is the event's sequence, event its type (case.created, "
        "case.dispatched, ...), data the case as a GeoJSON Feature (as it is when the event is read) with the "
        "event in properties.event. Filter by bbox, category and department (a department token gets its own). "
        "Reconnect with Last-Event-ID (or ?after=) to receive every missed event first, then live ones: nothing "
        "lost, nothing repeated. A comment line every 15 s keeps idle connections open; a client that falls "
        "too far behind is disconnected and resumes by Last-Event-ID. 422 unknown_event_id when the id is "
        "later than any event (reconnect without one).",
        query=FeedQuery,
        errors=(422, 503),
        content_type="text/event-stream",
    ),
    Route(
        "GET",
        "/api/v1/stats",
        stats.stats,
        "stats",
        frozenset({Role.DISPATCHER, Role.VIEWER, Role.ADMIN}),
        "Performance for a period, per department, category, street or grid cell, computed from the event log "
        "(so a past period always gives the same figures): reported, dispatched, closed, closed on time, due, "
        "overdue open, rejected, reworked, closure rate (closed / due), on-time rate (closed on time / due), "
        "rework rate (reworked / closed), median hours to close. Accept: text/csv gives the groups as CSV.",
        StatsAnswer,
        query=StatsQuery,
        errors=(422, 429, 503),
    ),
    Route(
        "GET",
        "/map",
        map_view.page,
        "map_view.page",
        None,
        "The command-center page: open it as /map?access_token=<viewer token>. The page holds no data itself; "
        "it reads the API with the token.",
        content_type="text/html",
    ),
    Route(
        "GET",
        "/map/settings.json",
        map_view.page_settings,
        "map.settings",
        None,
        "What the map page needs besides data: the optional tile-layer URL.",
    ),
)


def _open311(
    method: str,
    resource: str,
    handler: Handler,
    name: str,
    summary: str,
    response: type[BaseModel],
    path_params: type[BaseModel],
    errors: tuple[int, ...],
    **extra: object,
) -> Route:
    return Route(
        method,
        f"{open311_handlers.PREFIX}/{resource}.{{format:json|xml}}",
        handler,
        f"open311.{name}",
        None,
        summary + " (Open311 GeoReport v2; .xml gives the same as XML.)",
        response,
        path_params=path_params,
        errors=tuple(sorted({*errors, 404})),  # 404 also for a format other than json or xml
        error_model=open311.Open311Errors,
        error_text=open311_errors.ERROR_TEXT,
        also_xml=True,
        **extra,  # type: ignore[arg-type]
    )


OPEN311_ROUTES: tuple[Route, ...] = (
    _open311(
        "GET",
        "discovery",
        open311_handlers.discovery,
        "discovery",
        "Service discovery: where this GeoReport v2 endpoint is, its formats and contact.",
        open311.Discovery,
        open311.FormatPath,
        (400, 503),
    ),
    _open311(
        "GET",
        "services",
        open311_handlers.services,
        "services",
        "The services: one per event category, with its time limit as the service description.",
        open311.Services,
        open311.FormatPath,
        (400,),
        query=open311.JurisdictionQuery,
    ),
    _open311(
        "GET",
        "services/{service_code}",
        open311_handlers.service_definition,
        "service_definition",
        "A service's definition: its optional attributes urgent, crs, accuracy_m and observed_at.",
        open311.ServiceDefinition,
        open311.ServicePath,
        (400, 404),
        query=open311.JurisdictionQuery,
    ),
    _open311(
        "GET",
        "requests",
        open311_handlers.service_requests,
        "requests",
        "Service requests (cases), newest first: by service_request_id (comma list; overrides every other "
        "filter), or by service_code, status (open, closed) and requested_datetime between start_date and "
        "end_date (at most 90 days; the last 90 days by default); at most 1,000.",
        open311.ServiceRequests,
        open311.FormatPath,
        (400, 503),
        query=open311.RequestsQuery,
    ),
    _open311(
        "POST",
        "requests",
        open311_handlers.create_request,
        "create_request",
        "Create a service request with an inspector token as api_key: it becomes a report and goes through "
        "the same intake, routing and deadline as a native one. An identical POST within 24 hours (a retry) "
        "answers the same service_request_id and stores nothing.",
        open311.CreatedRequests,
        open311.FormatPath,
        (400, 403, 404, 503),
        body=Open311Form,
        body_type="application/x-www-form-urlencoded",
    ),
    _open311(
        "GET",
        "requests/{service_request_id}",
        open311_handlers.service_request,
        "request",
        "One service request, as a one-element list.",
        open311.ServiceRequests,
        open311.RequestPath,
        (400, 404, 503),
        query=open311.JurisdictionQuery,
    ),
    _open311(
        "GET",
        "tokens/{token}",
        open311_handlers.token,
        "token",
        "The service_request_id for a token. Requests are created in real time, so POST answers no token; "
        "a report id (of the native API) works as one.",
        open311.TokenAnswers,
        open311.TokenPath,
        (400, 404, 503),
        query=open311.JurisdictionQuery,
    ),
)
ROUTES = NATIVE_ROUTES + OPEN311_ROUTES

# Files the map page loads: Leaflet from its Python package, and the page's own script and style.
STATIC: tuple[tuple[str, Path, str], ...] = (
    ("/static/leaflet", map_view.LEAFLET_DIR, "static.leaflet"),
    ("/static/map", map_view.PAGE_DIR, "static.map"),
)

ROLE_RULES: dict[str, frozenset[Role] | None] = {r.name: r.roles for r in ROUTES} | {n: None for _, _, n in STATIC}


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    for prefix, directory, name in STATIC:
        app.router.add_static(prefix, directory, name=name)

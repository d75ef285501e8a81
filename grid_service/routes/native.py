"""The native API's routes (under /api/v1), the health checks, the document and the map page."""

from __future__ import annotations

from grid_service.domain.states import Action
from grid_service.flows import casework
from grid_service.handlers import (
    bulletin,
    cases,
    catalogue,
    feed,
    grids,
    health,
    map_view,
    media,
    metrics,
    openapi,
    queue,
    reports,
    stats,
)
from grid_service.handlers.common import error_response
from grid_service.routes.accounts import SESSION_ROUTES
from grid_service.routes.desk import DESK_ROUTES
from grid_service.routes.inspector import APP_ROUTES
from grid_service.routes.route import READERS, REPORTERS, Api, Route
from grid_service.routes.stats_charts import STATS_CHART_ROUTES
from grid_service.routes.tasks import TASK_ROUTES
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
    FeedQuery,
    FileBody,
    GridsQuery,
    Health,
    LocateQuery,
    MapCasesQuery,
    MediaQuery,
    MediaStored,
    QueuePage,
    QueueQuery,
    RejectBody,
    ReportAccepted,
    ReportBatch,
    ReportCreate,
    RequestCheckBody,
    ResolveBody,
    Role,
    StatsAnswer,
    StatsQuery,
    VerifyBody,
    VoidBody,
)
from grid_service.schemas.bulletin import MonthlyBulletin, MonthlyQuery
from grid_service.schemas.disputes import (
    AppealBody,
    DecisionBody,
    ExtensionBody,
    ReplyBody,
    ResumeBody,
    RuleBody,
    SuperviseBody,
    SuspensionBody,
)

INTAKE_ERRORS = (400, 409, 413, 415, 422, 503)

NATIVE_ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", health.healthz, "healthz", None, "The process is alive.", Health),
    Route(
        "GET", "/readyz", health.readyz, "readyz", None, "Database reachable and grid loaded.", Health, errors=(503,)
    ),
    Route("GET", "/openapi.json", openapi.document, "openapi", None, "This OpenAPI 3.1 document."),
    Route(
        "GET",
        "/metrics",
        metrics.scrape,
        "metrics",
        frozenset({Role.ADMIN}),
        "Prometheus metrics of every worker, in the text format: requests, latency, intake, open cases, feeds, "
        "long-polls, the pool, the event log's readers, the background loops, limits. An admin token, or an "
        "address in GRID_SERVICE_METRICS_ALLOW; 404 when metrics are off.",
        errors=(401, 403, 404, 503),
        content_type="text/plain",
    ),
    Route(
        "POST",
        "/api/v1/reports",
        reports.create_report,
        "reports.create",
        REPORTERS,
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
        REPORTERS,
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
        "Cases, newest first, filtered by status (comma list), category, department, grid-code prefix, bbox, "
        "overdue, open request (a kind or any), case number, light (as shown now), source, creation period "
        "(since, until), 督办 reply due (supervised) and rework; keyset pagination with the returned next cursor. "
        "Each case names the routing rules' candidate departments. A department sees its own cases only.",
        CaseList,
        query=CaseListQuery,
        errors=(422, 503),
    ),
    *(
        Route(
            "POST",
            f"/api/v1/cases/{{case_id}}/{action.value}",
            cases.action_handler(action, body),
            f"cases.{action.value.replace('/', '_')}",
            casework.ACTORS[action] | {Role.ADMIN},  # who may act: the flow's table, stated once
            summary,
            CaseRead,
            body=body,
            path_params=CaseIdPath,
            errors=(400, 404, 409, 415, 422, 503),
        )
        for action, body, summary in (
            (Action.ACCEPT, AcceptBody, "Accept a dispatched case: the department starts work."),
            (Action.RESOLVE, ResolveBody, "Report a case resolved, with after-photos."),
            (
                Action.REJECT,
                RejectBody,
                "Reject a case back to the dispatcher: not this department's, wrongly located or incomplete.",
            ),
            (
                Action.DISPATCH,
                DispatchBody,
                "Dispatch or re-dispatch a case to a department; a new deadline starts.",
            ),
            (
                Action.VERIFY,
                VerifyBody,
                "Verify a resolved case on site: passed closes it, failed sends it back as rework.",
            ),
            (Action.CANCEL, CancelBody, "Cancel a case that is not closed."),
            (
                Action.FILE,
                FileBody,
                "File a reported case (立案) against the filing standard: it is routed as intake routes it, the "
                "condition's limit (or the category's) sets its deadline; the category may be corrected first.",
            ),
            (Action.VOID, VoidBody, "Void a reported case (作废): a duplicate, not found, out of scope or invalid."),
            (
                Action.REQUEST_CHECK,
                RequestCheckBody,
                "Send an inspector to check a reported case (a check_report task, 核实 by default): the "
                "inspector answering for its cell, else the receivers' queue. 409 while one is open.",
            ),
            (
                Action.RULE,
                RuleBody,
                "Rule on a case returned too often (仲裁): dispatch it to a department, which may then not return "
                "it (409 ruling_binding); the fault (dispatcher, department, none) counts in the assessment.",
            ),
            (
                Action.REQUEST_EXTENSION,
                ExtensionBody,
                "Ask for more time (延期) before the deadline: one more original limit, or the hours asked; "
                "409 while another request is open or when the case has had its extensions.",
            ),
            (
                Action.DECIDE_EXTENSION,
                DecisionBody,
                "Approve or refuse the open extension: the dispatcher the first one of at most one limit, the "
                "shift lead any. Approved, the deadline in force moves; original_deadline_at keeps the first.",
            ),
            (
                Action.REQUEST_SUSPENSION,
                SuspensionBody,
                "Ask to suspend the case (挂账) until an instant at most a year away, for a stated reason.",
            ),
            (
                Action.DECIDE_SUSPENSION,
                DecisionBody,
                "Approve or refuse the open suspension (shift lead). Approved: the case is suspended, its clock "
                "stands still and every handling action is 409 until it resumes.",
            ),
            (
                Action.RESUME,
                ResumeBody,
                "Resume a suspended case before its until (it resumes by itself then): its deadline moves by "
                "the paused time counted on its clock.",
            ),
            (
                Action.SUPERVISE,
                SuperviseBody,
                "Supervise a case (催办, 督办, 挂牌督办): the department answers within reply_hours working "
                "hours, or the miss is recorded once (case.supervision_overdue).",
            ),
            (Action.REPLY_SUPERVISION, ReplyBody, "The department's answer to the case's 督办."),
            (
                Action.APPEAL,
                AppealBody,
                "Appeal a case closed late (超时申诉), once: the dispatcher reviews it, then the shift lead "
                "decides; approved, the case is exempt in adjusted figures (422 for a case closed on time).",
            ),
            (
                Action.REVIEW_APPEAL,
                DecisionBody,
                "Review the open appeal: the dispatcher first, then the shift lead; a refusal at either is final.",
            ),
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
        REPORTERS | {Role.DEPARTMENT},
        "Upload a photo (raw bytes as image/jpeg, image/png or image/webp, at most 10 MB, at most "
        "GRID_SERVICE_PHOTO_MAX_PIXELS pixels, decodable to its end). 201 when new, 200 when the same bytes "
        "were already stored; the id is the SHA-256 of the bytes. lon, lat, accuracy_m and taken_at say where "
        "and when the phone took it (recorded with the photo, with the server's time of arrival).",
        MediaStored,
        status=201,
        query=MediaQuery,
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
        "its own cases only. finished_since=<instant> (with a UTC offset, at most 2 days back, else 422) adds the "
        "cases finished (closed, cancelled, voided) at or after it, after the open ones: the wall screen asks "
        "for its city's midnight to keep the day's finished cases across a reload. Every feature carries "
        "finished_at (null while open). However many cases, an answer is read and written a page at a time "
        "(chunked when longer than one page), so its cost in memory stays bounded; a cut connection means an "
        "unfinished answer.",
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
        "/api/v1/reports/monthly",
        bulletin.monthly,
        "reports.monthly",
        frozenset({Role.DISPATCHER, Role.SHIFT_LEAD, Role.VIEWER, Role.ADMIN}),
        "The monthly bulletin (月度通报) of month=YYYY-MM: the month's cohort by source, department, street and "
        "category, raw (按原期) and adjusted (按批准期), the five categories filed most with 环比 and 同比, and "
        "self-disposals, extensions, suspensions and approved appeals. Accept: the spreadsheet "
        "(application/vnd.openxmlformats-officedocument.spreadsheetml.sheet) or the document "
        "(…wordprocessingml.document) give the same tables as files.",
        MonthlyBulletin,
        query=MonthlyQuery,
        errors=(422, 429, 503),
    ),
    Route(
        "GET",
        "/api/v1/stats",
        stats.stats,
        "stats",
        frozenset({Role.DISPATCHER, Role.SHIFT_LEAD, Role.VIEWER, Role.ADMIN}),
        "Assessment figures for a period, per department, category, street, grid cell, source or position, "
        "computed from the event log (so a past period always gives the same figures): the cohort of cases "
        "filed in the period judged as of its end — filed, due, closed, closed on time, reworked, their rates "
        "(as evaluation.toml divides them) and composite scores — raw (by the dispatch's deadline) or "
        "adjusted=true (by the deadline in force, approved appeals on time); and the period's flow: reported, "
        "dispatched, rejected, overdue open, median hours to close. Accept: text/csv gives the groups as CSV.",
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
        "The command-center page: open it as /map?access_token=<viewer token>, or signed in (the session "
        "cookie). The page holds no data itself; it reads the API with the token or the session.",
        content_type="text/html",
    ),
    Route(
        "GET",
        "/map/settings.json",
        map_view.page_settings,
        "map.settings",
        None,
        "What the map page needs besides data: the optional tile-layer URL, the city's time zone, the grid's extent, "
        "and the event types and running and finished statuses it listens for and colours by.",
    ),
)

# Everything outside another API's prefix: the health checks, the document and the map page too.
NATIVE = Api(
    "/",
    NATIVE_ROUTES + TASK_ROUTES + SESSION_ROUTES + APP_ROUTES + DESK_ROUTES + STATS_CHART_ROUTES,
    error_response,
)

"""The Open311 GeoReport v2 façade's routes (under /open311/v2), each resource as .json and .xml."""

from __future__ import annotations

from pydantic import BaseModel

from grid_service.georeport import errors as open311_errors
from grid_service.georeport import models as open311
from grid_service.georeport.mapping import RequestForm as Open311Form
from grid_service.handlers import open311 as open311_handlers
from grid_service.routes.route import Api, Handler, Route


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
        "Create a service request with an inspector token (or a channel token, whose source it then carries) "
        "as api_key: it becomes a report and goes through "
        "the same intake, routing and deadline as a native one. An identical POST within 24 hours (a retry) "
        "answers the same service_request_id and stores nothing.",
        open311.CreatedRequests,
        open311.FormatPath,
        (400, 403, 404, 429, 503),
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

# Open311 apps read errors in their own standard's shape, an unknown path under the prefix included.
OPEN311 = Api(open311_handlers.PREFIX, OPEN311_ROUTES, open311_errors.error_response)

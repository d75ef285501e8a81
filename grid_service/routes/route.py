"""One route, and one API (a family of routes): what the URL map, the role rules, the error shape
and the OpenAPI document are all made from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from grid_service.errors import ApiError
from grid_service.schemas import ErrorEnvelope, Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# How an API answers an error: the request, the error, and the HTTP status it would have natively.
ErrorRenderer = Callable[[web.Request, ApiError, int], web.Response]

# Who reads cases: every person's role; a channel (a machine client) only sends.
READERS = frozenset(
    {Role.INSPECTOR, Role.DEPARTMENT, Role.DISPATCHER, Role.VIEWER, Role.ADMIN, Role.RECEIVER, Role.SHIFT_LEAD}
)
# Who sends reports (and their photos): the source each may give is flows/intake.source_of's rule.
REPORTERS = frozenset({Role.INSPECTOR, Role.CHANNEL, Role.RECEIVER, Role.SHIFT_LEAD, Role.ADMIN})


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


@dataclass(frozen=True)
class Api:
    """The routes under one path prefix, which answer every error there in one shape (an unknown
    path under the prefix included)."""

    prefix: str
    routes: tuple[Route, ...]
    render_error: ErrorRenderer

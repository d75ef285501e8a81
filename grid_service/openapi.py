"""The OpenAPI 3.1 document, generated from the route table and the pydantic models it names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from grid_service.handlers.common import ACCESS_TOKEN
from grid_service.limits import UNLIMITED_ROUTES
from grid_service.schemas import ErrorEnvelope, Role
from grid_service.sessions import SESSION_COOKIE

if TYPE_CHECKING:
    from grid_service.routes import Route

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed JSON.",
    401: "No token, or an unknown or revoked one.",
    403: "The token's role may not use this route.",
    404: "Unknown, or not visible to this caller.",
    409: "Idempotency conflict or invalid transition.",
    413: "Body too large.",
    415: "Wrong content type.",
    422: "Validation failed; each detail carries the field path.",
    408: "The request body stalled (nothing arrived for GRID_SERVICE_BODY_IDLE_TIMEOUT_S); send it again.",
    429: "Past a per-caller limit: requests per token or address, feeds or long-polls open, heavy reads in "
    "flight; retry after Retry-After.",
    503: "Database unavailable; retry after the Retry-After header.",
}


def build_document(routes: Sequence[Route], *, version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorEnvelope}
    for route in routes:
        models.update(m for m in (route.response, route.body, route.query, route.path_params) if m is not None)
        models.add(route.error_model)
    inputs = {m for r in routes for m in (r.body, r.query, r.path_params) if m is not None}
    _, definitions = models_json_schema(
        [(m, "validation" if m in inputs else "serialization") for m in models],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(document_path(route.path), {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "grid-service",
            "version": version,
            "description": "Grid-based urban governance: reports become routed, deadlined cases.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                # Browsers cannot set headers on EventSource or a page load: GET also takes the token here.
                "access_token": {"type": "apiKey", "in": "query", "name": ACCESS_TOKEN},
                # A person signed in (POST /api/v1/session); a write also sends X-CSRF-Token.
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
    }


def document_path(path: str) -> str:
    """The router's path as OpenAPI writes it: placeholders without their patterns."""
    return re.sub(r"{(\w+):[^}]+}", r"{\1}", path)


XML_TEXT = {"text/xml": {"schema": {"type": "string", "description": "The same answer as XML (path ends in .xml)."}}}


def _content(route: Route) -> dict[str, Any]:
    if route.response is not None:
        content = {route.content_type: {"schema": _ref(route.response)}}
        return {"content": content | (XML_TEXT if route.also_xml else {})}
    if route.content_type.endswith("+json"):  # a JSON document of a standard's own (a web app manifest)
        return {"content": {route.content_type: {"schema": {"type": "object"}}}}
    if route.content_type != "application/json":
        return {"content": {route.content_type: {"schema": {"type": "string"}}}}
    return {}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary.split(". ")[0].rstrip("."),
        "description": route.summary,
        "parameters": _parameters(route),
        "responses": {
            str(route.status): {
                "description": "Success." if route.status == 200 else "Created.",
                **_content(route),
            }
        },
    }
    if route.status == 201:  # creating calls are idempotent: a repeat answers 200 with the same body
        operation["responses"]["200"] = {"description": "Already there: the same answer again.", **_content(route)}
    if route.roles is None:
        operation["security"] = []
    else:
        operation["security"] = (
            [{"bearer": []}]
            + ([{"access_token": []}] if route.method == "GET" else [])
            + ([{"session": []}] if route.roles - {Role.CHANNEL} else [])  # a person's role: signed in too
        )
        roles = ", ".join(sorted(r.value for r in route.roles))
        operation["description"] += f" Roles: {roles}."
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {route.body_type: {"schema": _ref(route.body)}}}
    elif route.raw_body:  # bytes as they are (a photo): one binary body per accepted type
        binary = {"schema": {"type": "string", "format": "binary"}}
        operation["requestBody"] = {"required": True, "content": {kind: binary for kind in route.raw_body}}
    codes = set(route.errors) | ({401, 403} if route.roles is not None else set())
    if route.name not in UNLIMITED_ROUTES:
        codes.add(429)  # the per-address limit holds everywhere, the per-token one wherever a token is read
    if route.error_text is None and (route.body is not None or route.raw_body):
        codes.add(408)
    for code in sorted(codes):
        content = {"application/json": {"schema": _ref(route.error_model)}}
        operation["responses"][str(code)] = {
            "description": (route.error_text or ERROR_TEXT)[code],
            "content": content | (XML_TEXT if route.also_xml else {}),
        }
    return operation


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = []
    for location, model in (("path", route.path_params), ("query", route.query)):
        if model is None:
            continue
        schema = model.model_json_schema(ref_template=REF)  # nested types resolve in components
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": location, "required": location == "path" or name in required, "schema": prop}
            )
    for name in re.findall(r"{(\w+)}", document_path(route.path)):
        if not any(p["name"] == name for p in parameters):
            parameters.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    return parameters


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}

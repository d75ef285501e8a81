"""The API against its own OpenAPI document: generated requests to every operation of a running
server (a real process on a real database), with a valid token. Nothing may answer 5xx, and
every answer must be one the document allows (status, content type, headers, body schema).

The live feed is left out: it is a stream that does not end, which a request-response fuzzer
cannot read to its end; tests/api/test_feed.py covers it.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from grid_service.openapi import document_path
from grid_service.routes import ROUTES
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_STREET_2, report
from tests.conftest import bearer, cloned_database, make_token
from tests.served import start_serving

EXAMPLES_PER_OPERATION = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NOT_FUZZED = "/api/v1/feed"


@dataclass(frozen=True)
class LiveServer:
    base: str
    admin: str
    inspector: str
    case_ids: tuple[str, ...]
    case_numbers: tuple[str, ...]


@pytest.fixture(scope="module")
async def live_server(pg_admin_url: str, template_db: str) -> AsyncIterator[LiveServer]:
    async with cloned_database(pg_admin_url, template_db) as db_url:
        conn = await asyncpg.connect(db_url)
        try:
            admin = await make_token(conn, "admin")
            inspector = await make_token(conn, "inspector")
        finally:
            await conn.close()
        server, base = await start_serving(db_url, log_level="ERROR")
        try:
            case_ids, case_numbers = [], []
            async with aiohttp.ClientSession() as session:
                seeds = (("outdoor_barbecue", IN_CELL_1), ("exposed_garbage", IN_STREET_2)) * 3
                for category, point in (*seeds, ("illegal_construction", FAR_AWAY)):
                    async with session.post(
                        f"{base}/api/v1/reports", json=report(category, point), headers=bearer(inspector)
                    ) as response:
                        assert response.status == 201
                        accepted = await response.json()
                        case_ids.append(accepted["case_id"])
                        case_numbers.append(accepted["case_no"])
            yield LiveServer(base, admin, inspector, tuple(case_ids), tuple(case_numbers))
        finally:
            server.terminate()
            await asyncio.wait_for(server.communicate(), 30)


@pytest.fixture(scope="module")
def api_schema(live_server: LiveServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_server.base}/openapi.json")


OPERATIONS = [
    pytest.param(f"{r.method} {document_path(r.path)}", mode, id=f"{r.method} {document_path(r.path)} {mode}")
    for r in ROUTES
    if r.path != NOT_FUZZED
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Negative data needs something to break: a parameter or a body.
    if mode is GenerationMode.POSITIVE or r.query or r.body or r.path_params or "{" in r.path
]


SEEDED_CATEGORIES = ("outdoor_barbecue", "exposed_garbage", "illegal_construction")
DEPARTMENTS = ("urban_management", "street_office", "sanitation", "housing")


def _pick(generated: object, existing: tuple[str, ...]) -> str | None:
    """For half of the generated values, one of ``existing`` (chosen by the value itself)."""
    digest = zlib.crc32(str(generated).encode())
    return existing[digest // 2 % len(existing)] if digest % 2 == 0 else None


def _steer(case: schemathesis.Case, server: LiveServer) -> None:
    """Point part of the generated requests at things that exist, so that the fuzzer gets past 404
    and 403 into the code behind them; the choice depends on the generated values only, so a
    failing example replays the same way."""
    path = case.path_parameters or {}
    for name, existing in (
        ("case_id", server.case_ids),
        ("service_request_id", server.case_numbers),
        ("service_code", SEEDED_CATEGORIES),
    ):
        if name in path:
            path[name] = _pick(path[name], existing) or path[name]
    if case.operation.path in ("/api/v1/queue", "/api/v1/tasks") and case.query:
        case.query["wait"] = 0  # a long poll would only make the run slower
    if not isinstance(case.body, dict):
        return
    if case.operation.path.startswith("/open311/") and case.method == "POST":
        case.body["api_key"] = server.inspector
        _steer_field(case.body, "service_code", SEEDED_CATEGORIES)
    elif case.operation.path == "/api/v1/reports":
        _steer_field(case.body, "category", SEEDED_CATEGORIES)
    elif case.operation.path.endswith("/dispatch"):
        _steer_field(case.body, "department", DEPARTMENTS)


def _steer_field(body: dict[str, object], name: str, existing: tuple[str, ...]) -> None:
    if name in body:
        body[name] = _pick(body[name], existing) or body[name]


@pytest.mark.parametrize(("label", "mode"), OPERATIONS)
def test_every_operation_answers_as_documented(
    label: str, mode: GenerationMode, api_schema: schemathesis.BaseSchema, live_server: LiveServer
) -> None:
    """Positive: requests the document allows. Negative: requests it does not, which must be
    refused with a documented error, never a 5xx."""
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served document"

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        _steer(case, live_server)
        case.call_and_validate(
            base_url=live_server.base,
            headers={"Authorization": f"Bearer {live_server.admin}"},
            checks=CHECKS,
            timeout=30,
        )

    answers_as_documented()

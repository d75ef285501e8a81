"""The API against its own OpenAPI document: generated requests to every operation of a running
server (a real process on a real database), with a valid token. Nothing may answer 5xx, and
every answer must be one the document allows (status, content type, headers, body schema).

The live feed is left out: it is a stream that does not end, which a request-response fuzzer
cannot read to its end; tests/api/test_feed.py covers it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
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
from tests.cli.test_serve import free_port
from tests.conftest import FIXTURE_CONFIG, bearer, make_token

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
async def live_server(db_url_module: str) -> AsyncIterator[LiveServer]:
    import asyncpg

    conn = await asyncpg.connect(db_url_module)
    try:
        admin = await make_token(conn, "admin")
        inspector = await make_token(conn, "inspector")
    finally:
        await conn.close()
    port = free_port()
    env = {
        **os.environ,
        "GRID_SERVICE_DATABASE_URL": db_url_module,
        "GRID_SERVICE_CONFIG": str(FIXTURE_CONFIG),
        "GRID_SERVICE_LOG_LEVEL": "ERROR",
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "grid_service", "serve", "--port", str(port), env=env, stderr=asyncio.subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # bounded: up to 20 s to start
                try:
                    async with session.get(f"{base}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)
            case_ids, case_numbers = [], []
            for category, point in (("outdoor_barbecue", IN_CELL_1), ("exposed_garbage", IN_STREET_2)) * 3 + (
                ("illegal_construction", FAR_AWAY),
            ):
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
        await asyncio.wait_for(server.wait(), 30)


@pytest.fixture(scope="module")
async def db_url_module(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    import uuid

    import asyncpg

    from tests.conftest import with_database

    name = f"gs_fuzz_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield with_database(pg_admin_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


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
    if case.operation.path == "/api/v1/queue" and case.query:
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

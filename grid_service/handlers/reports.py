"""POST /api/v1/reports and /api/v1/reports/batch."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from grid_service import keys
from grid_service.errors import ApiError, ValidationFailed
from grid_service.flows import intake
from grid_service.handlers.common import json_response, principal, read_json, validate, validation_details
from grid_service.schemas import ReportBatch, ReportCreate


async def create_report(request: web.Request) -> web.Response:
    report = validate(ReportCreate, await read_json(request))
    snapshot = request.app[keys.CONFIG].current
    prepared = intake.prepare(principal(request), report, snapshot, request.app[keys.CLOCK]())
    [outcome] = await request.app[keys.INTAKE].submit([prepared])
    if outcome.response is None:
        raise intake.conflict_error(report.client_id)
    return json_response(intake.present(outcome.response, snapshot.calendar.timezone), status=outcome.status_code)


async def create_report_batch(request: web.Request) -> web.Response:
    batch = validate(ReportBatch, await read_json(request))
    snapshot = request.app[keys.CONFIG].current
    caller = principal(request)
    now = request.app[keys.CLOCK]()
    results: list[dict[str, Any] | None] = [None] * len(batch.reports)
    prepared: list[intake.PreparedReport] = []
    positions: list[int] = []
    client_ids: list[str] = []
    for index, raw in enumerate(batch.reports):
        try:
            report = ReportCreate.model_validate(raw)
            prepared.append(intake.prepare(caller, report, snapshot, now))
        except ValidationError as exc:
            error = ValidationFailed("invalid report", details=validation_details(exc, ["reports", index]))
            results[index] = {"status_code": error.status, "error": error.body()["error"]}
            continue
        except ApiError as exc:
            for detail in exc.details:
                detail["path"] = ["reports", index, *detail["path"]]
            results[index] = {"status_code": exc.status, "error": exc.body()["error"]}
            continue
        positions.append(index)
        client_ids.append(report.client_id)
    if prepared:
        outcomes = await request.app[keys.INTAKE].submit(prepared)
        tz = snapshot.calendar.timezone
        for index, client_id, outcome in zip(positions, client_ids, outcomes, strict=True):
            if outcome.response is None:
                conflict = intake.conflict_error(client_id)
                results[index] = {"status_code": conflict.status, "error": conflict.body()["error"]}
            else:
                results[index] = {"status_code": outcome.status_code, "report": intake.present(outcome.response, tz)}
    return json_response({"results": results})

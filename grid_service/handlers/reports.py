"""POST /api/v1/reports and /api/v1/reports/batch: parse, hand to the intake flow, answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from grid_service import keys, metrics
from grid_service.auth import Principal
from grid_service.errors import ApiError, ValidationFailed
from grid_service.flows import intake
from grid_service.handlers.common import (
    json_response,
    principal,
    read_json,
    validate,
    validation_details,
)
from grid_service.schemas import ForeignReport, ReportBatch, ReportCreate
from grid_service.schemas.reports import MAX_BATCH


async def accept(
    request: web.Request, reports: Sequence[ReportCreate | ForeignReport | ApiError], caller: Principal | None = None
) -> list[intake.Accepted | ApiError]:
    """The intake flow with this worker's committer and configuration (the caller: the token's)."""
    app = request.app
    caller = caller or principal(request)
    snapshot = app[keys.CONFIG].current
    timeout = app[keys.SETTINGS].db_timeout_s
    over_limit = request.get(keys.OVER_LIMIT)
    if over_limit is not None:  # past its rate: a retry of a stored report is answered, nothing new is written
        return await intake.stored_answers(
            app[keys.POOL], caller, reports, over_limit, snapshot=snapshot, timeout=timeout
        )
    answers = await intake.accept_reports(
        app[keys.INTAKE], app[keys.POOL], caller, reports, snapshot=snapshot, now=app[keys.CLOCK](), timeout=timeout
    )
    if keys.SAMPLER in app:  # metrics are on
        for report, answer in zip(reports, answers, strict=True):
            if isinstance(answer, intake.Accepted) and answer.status_code == 201 and not isinstance(report, ApiError):
                metrics.REPORTS.labels(intake.source_of(caller, report.source).value).inc()
    return answers


async def _refuse_unless_retry(request: web.Request, raw: Any) -> None:
    """Past the caller's rate, a request holding no report already stored is refused before any
    validation: a look at the client_ids as sent (shared with the other refused requests of the
    moment, flows/stored_lookups.py), which is all an abusive caller costs."""
    over_limit = request.get(keys.OVER_LIMIT)
    if over_limit is None:
        return
    items = raw.get("reports") if isinstance(raw, dict) and "reports" in raw else [raw]
    client_ids = [
        item["client_id"]
        for item in (items if isinstance(items, list) else [])[:MAX_BATCH]
        if isinstance(item, dict) and isinstance(item.get("client_id"), str)
    ]
    if not await request.app[keys.STORED_LOOKUPS].stored(principal(request).token_id, client_ids):
        raise over_limit


async def create_report(request: web.Request) -> web.Response:
    raw = await read_json(request)
    await _refuse_unless_retry(request, raw)
    report = validate(ReportCreate, raw)
    [answer] = await accept(request, [report])
    if isinstance(answer, ApiError):
        raise answer
    return json_response(answer.acknowledgement, status=answer.status_code)


async def create_report_batch(request: web.Request) -> web.Response:
    raw = await read_json(request)
    await _refuse_unless_retry(request, raw)
    batch = validate(ReportBatch, raw)
    items: list[ReportCreate | ApiError] = []
    for raw in batch.reports:
        try:
            items.append(ReportCreate.model_validate(raw))
        except ValidationError as exc:
            items.append(ValidationFailed("invalid report", details=validation_details(exc)))
    results = []
    for index, answer in enumerate(await accept(request, items)):
        if isinstance(answer, ApiError):
            # each detail's path is into the item; the batch answer gives it from the batch's root
            error = answer.body()["error"]
            error["details"] = [{**d, "path": ["reports", index, *d["path"]]} for d in error["details"]]
            results.append({"status_code": answer.status, "error": error})
        else:
            results.append({"status_code": answer.status_code, "report": answer.acknowledgement})
    return json_response({"results": results})

"""POST /api/v1/reports and /api/v1/reports/batch."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from grid_service import keys
from grid_service.db import media as db_media
from grid_service.db.failures import as_api_error
from grid_service.errors import ApiError, ValidationFailed, field_error
from grid_service.flows import intake
from grid_service.handlers.common import json_response, principal, read_json, validate, validation_details
from grid_service.schemas import ForeignReport, ReportBatch, ReportCreate

log = logging.getLogger(__name__)

HAND_OVER_EVERY = 50  # reports prepared before handing them to the writer


async def unknown_media(request: web.Request, hashes: set[str]) -> set[str]:
    if not hashes:
        return set()
    async with request.app[keys.POOL].acquire(timeout=request.app[keys.SETTINGS].db_timeout_s) as conn:
        return await db_media.unknown(conn, hashes)


def media_error(report: ReportCreate | ForeignReport, unknown: set[str]) -> ValidationFailed:
    return ValidationFailed(
        "unknown media: upload photos before referring to them",
        details=[
            field_error(["media", i], "no uploaded photo has this hash", "unknown_media")
            for i, sha in enumerate(report.media)
            if sha in unknown
        ],
    )


async def create_report(request: web.Request) -> web.Response:
    report = validate(ReportCreate, await read_json(request))
    unknown = await unknown_media(request, set(report.media))
    if unknown:
        raise media_error(report, unknown)
    snapshot = request.app[keys.CONFIG].current
    prepared = intake.prepare(principal(request), report, snapshot, request.app[keys.CLOCK]())
    [outcome] = await request.app[keys.INTAKE].submit([prepared])
    if outcome.response is None:
        raise intake.conflict_error(report.client_id)
    return json_response(intake.present(outcome.response, snapshot.calendar.timezone), status=outcome.status_code)


async def create_report_batch(request: web.Request) -> web.Response:
    batch = validate(ReportBatch, await read_json(request))
    snapshot = request.app[keys.CONFIG].current
    committer = request.app[keys.INTAKE]
    caller = principal(request)
    now = request.app[keys.CLOCK]()
    results: list[dict[str, Any] | None] = [None] * len(batch.reports)
    waiting: list[tuple[int, str, asyncio.Future[intake.Outcome]]] = []
    ready: list[tuple[int, str, intake.PreparedReport]] = []
    valid: list[tuple[int, ReportCreate]] = []
    for index, raw in enumerate(batch.reports):
        try:
            valid.append((index, ReportCreate.model_validate(raw)))
        except ValidationError as exc:
            error = ValidationFailed("invalid report", details=validation_details(exc, ["reports", index]))
            results[index] = {"status_code": error.status, "error": error.body()["error"]}
    unknown = await unknown_media(request, {sha for _, report in valid for sha in report.media})
    for position, (index, report) in enumerate(valid):
        try:
            if unknown.intersection(report.media):
                raise media_error(report, unknown)
            ready.append((index, report.client_id, intake.prepare(caller, report, snapshot, now)))
        except ApiError as exc:
            for detail in exc.details:
                detail["path"] = ["reports", index, *detail["path"]]
            results[index] = {"status_code": exc.status, "error": exc.body()["error"]}
        if len(ready) == HAND_OVER_EVERY or (ready and position == len(valid) - 1):
            futures = committer.enqueue([p for _, _, p in ready])
            waiting.extend((i, c, f) for (i, c, _), f in zip(ready, futures, strict=True))
            ready = []
            await asyncio.sleep(0)  # let the writes already queued start while the rest is prepared
    tz = snapshot.calendar.timezone
    outcomes = await asyncio.gather(*(f for _, _, f in waiting), return_exceptions=True)
    for (index, client_id, _), outcome in zip(waiting, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            # Whatever failed for this item (the database refused it, or was away while it was
            # written), the answer stays per item: the client learns which ones to send again.
            failure = item_error(outcome, request)
            results[index] = {"status_code": failure.status, "error": failure.body()["error"]}
        elif outcome.response is None:
            conflict = intake.conflict_error(client_id)
            results[index] = {"status_code": conflict.status, "error": conflict.body()["error"]}
        else:
            results[index] = {"status_code": outcome.status_code, "report": intake.present(outcome.response, tz)}
    return json_response({"results": results})


def item_error(exc: BaseException, request: web.Request) -> ApiError:
    """The error one batch item gets, as the error middleware would answer it for a single report."""
    if isinstance(exc, asyncio.CancelledError):
        raise exc
    error = as_api_error(exc)
    if error is None:
        log.error("a batch item failed", exc_info=exc, extra={"request_id": request.get(keys.REQUEST_ID)})
        return ApiError("internal error")
    return error

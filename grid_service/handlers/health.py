"""/healthz (the process answers) and /readyz (database reachable, configuration and grid loaded; the read
standby's lag, when there is one, shown but never a reason to be unready)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from grid_service import keys
from grid_service.handlers.common import connection, json_response


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, Any] = {}
    ready = True
    try:
        async with connection(request) as conn:
            await conn.fetchval("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure here is "not ready", reported, never raised
        checks["database"] = f"unavailable: {type(exc).__name__}"
        ready = False
    replica = request.app.get(keys.READ_REPLICA)
    if replica is not None:  # said, never a reason to be unready: its reads go to the primary meanwhile
        checks["read_replica"] = replica.status()
    stalled = request.app[keys.LOOPS].problems()
    if stalled:  # a worker whose feed, queue tracker or deadline watch is not running is not ready
        checks["loops"] = stalled
        ready = False
    snapshot = request.app[keys.CONFIG].snapshot
    if snapshot is None or len(snapshot.grid) == 0:
        checks["grid"] = "not loaded"
        ready = False
    else:
        checks["grid"] = {"version": snapshot.grid_version, "cells": len(snapshot.grid)}
        checks["config_generation"] = snapshot.generation
        missing = sorted(snapshot.calendar.missing_years)
        if missing:
            checks["calendar"] = {
                "official_holidays_missing_years": missing,
                "note": "these years count working weekdays and local holidays only",
            }
    return json_response({"status": "ready" if ready else "not_ready", "details": checks}, status=200 if ready else 503)

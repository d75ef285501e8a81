"""Intake: a validated report becomes a routed, deadlined case (or joins an open duplicate).

``prepare`` is pure: datum conversion, grid assignment, routing and the
deadline. ``submit`` makes one database round trip for any number of
prepared reports, in one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import asyncpg

from geo import gcj02
from geo.grid import METRES_PER_DEGREE
from grid_service.auth import Principal
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import reports as db_reports
from grid_service.domain.deadlines import deadline
from grid_service.domain.ids import uuid7
from grid_service.domain.lights import warning_at
from grid_service.domain.routing import choose_rule
from grid_service.errors import Conflict, ValidationFailed, field_error
from grid_service.schemas import CaseStatus, Crs, ForeignReport, PendingReason, ReportCreate

DEADLOCK_RETRIES = 3
RESPONSE_FIELDS = (
    "report_id",
    "case_id",
    "case_no",
    "duplicate",
    "status",
    "pending_reason",
    "grid",
    "department",
    "deadline_at",
)


@dataclass(frozen=True, slots=True)
class PreparedReport:
    item: dict[str, Any]  # one value per field of INTAKE_FIELDS (see db/reports.py)
    lock_keys: tuple[int, ...]


def lock_key(text: str) -> int:
    """A signed 64-bit advisory-lock key for a name."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


_MASK64 = (1 << 64) - 1


def _mix(*values: int) -> int:
    """A signed 64-bit key from integers (splitmix64 steps): cheap, and the same in every process."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        state = (state ^ (state >> 31)) * 0x94D049BB133111EB & _MASK64
    state ^= state >> 29
    return state - (1 << 64) if state >= 1 << 63 else state


def duplicate_lock_keys(category: str, lon: float, lat: float, radius_m: float) -> tuple[int, ...]:
    """Keys for the tiles that a duplicate search of ``radius_m`` around the point can reach.

    Tiles are 4·radius high (in latitude) and 4·radius/111,320 degrees wide (in
    longitude, the same width everywhere, so every point agrees on the tiling).
    A point locks every tile touching its search box. Two reports within
    ``radius_m`` of each other both lock the tile holding their midpoint, so
    their duplicate checks run one after the other and the second sees the
    first one's case; reports far apart rarely share a tile and do not wait.
    The tile size only trades locks per report (about 2.6 at 45° N) against
    unrelated reports that wait for each other; any size is correct.
    """
    tile_deg = 4 * radius_m / METRES_PER_DEGREE
    reach_lat = 1.01 * radius_m / METRES_PER_DEGREE
    reach_lon = reach_lat / max(math.cos(math.radians(lat)), 1e-6)
    rows = range(math.floor((lat - reach_lat) / tile_deg), math.floor((lat + reach_lat) / tile_deg) + 1)
    cols = range(math.floor((lon - reach_lon) / tile_deg), math.floor((lon + reach_lon) / tile_deg) + 1)
    namespace = _category_key(category)
    return tuple(_mix(namespace, row, col) for row in rows for col in cols)


@functools.lru_cache(maxsize=1024)
def _category_key(category: str) -> int:
    return lock_key(f"dup:{category}")


def body_hash(report: ReportCreate | ForeignReport) -> str:
    """Identity of a submission's content, independent of key order, spacing and defaults spelled out."""
    return hashlib.sha256(report.model_dump_json().encode()).hexdigest()


def prepare(
    principal: Principal, report: ReportCreate | ForeignReport, snapshot: ConfigSnapshot, now: dt.datetime
) -> PreparedReport:
    category = snapshot.categories.get(report.category)
    if category is None:
        raise ValidationFailed(
            f"unknown category {report.category!r}",
            details=[field_error(["category"], "unknown category", "unknown_category")],
        )
    status = CaseStatus.PENDING_DISPATCH
    pending_reason: PendingReason | None = PendingReason.NO_LOCATION
    lon = lat = input_lon = input_lat = None
    grid_code = department = deadline_at = warn_at = None
    rule_dict: dict[str, object] | None = None
    rule_id: int | None = None
    assignment = None
    if report.location is not None:
        input_lon, input_lat = report.location.coordinates
        lon, lat = (input_lon, input_lat) if report.crs is Crs.WGS84 else gcj02.to_wgs84(input_lon, input_lat)
        pending_reason = PendingReason.OUTSIDE_GRID
        assignment = snapshot.grid.assign(lon, lat)
    if assignment is not None:
        grid_code = assignment.cell.code
        rule = choose_rule(snapshot.rules, category.code, grid_code)
        if rule is None:
            pending_reason = PendingReason.NO_RULE
        else:
            status, pending_reason = CaseStatus.DISPATCHED, None
            department, rule_id, rule_dict = rule.department, rule.id, rule.as_dict()
            deadline_at = deadline(now, category.limit_for(report.urgent), category.clock, snapshot.calendar)
            deadline_at = deadline_at.replace(microsecond=0)  # whole seconds: what people read and promise
            warn_at = warning_at(now, deadline_at, category.clock, snapshot.calendar)

    keys = [lock_key(f"idem:{principal.token_id}:{report.client_id}")]
    if lon is not None and lat is not None and category.duplicate_radius_m > 0 and category.duplicate_window_hours > 0:
        keys.extend(duplicate_lock_keys(category.code, lon, lat, category.duplicate_radius_m))
    item = {
        "at": now,
        "report_id": uuid7(),
        "case_id": uuid7(),
        "token_id": principal.token_id,
        "actor": principal.actor,
        "client_id": report.client_id,
        "body_hash": body_hash(report),
        "category": category.code,
        "lon": lon,
        "lat": lat,
        "crs": report.crs.value,
        "input_lon": input_lon,
        "input_lat": input_lat,
        "accuracy_m": report.accuracy_m,
        "urgent": report.urgent,
        "description": report.description,
        "address": report.address,
        "media_url": getattr(report, "media_url", None),
        "observed_at": report.observed_at,
        "media": report.media,
        "timezone": snapshot.calendar.timezone.key,
        "status": status.value,
        "pending_reason": pending_reason.value if pending_reason else None,
        "grid_version": snapshot.grid_version if grid_code else None,
        "grid_code": grid_code,
        "grid_name": assignment.cell.name if assignment else None,
        "department": department,
        "department_name": snapshot.departments[department].name if department else None,
        "routing_rule_id": rule_id,
        "routing_rule": rule_dict,
        "deadline_at": deadline_at,
        "warn_at": warn_at,
        "duplicate_radius_m": category.duplicate_radius_m,
        "duplicate_window_hours": category.duplicate_window_hours,
    }
    return PreparedReport(item=item, lock_keys=tuple(keys))


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int  # 201 created, 200 replay of an earlier identical submission, 409 conflicting retry
    response: dict[str, Any] | None


async def submit(pool: asyncpg.Pool, prepared: list[PreparedReport], *, timeout: float) -> list[Outcome]:
    """Store prepared reports in one transaction; one outcome per report, in order."""
    items = [p.item for p in prepared]
    independent = independence(prepared)
    keys = [k for p in prepared for k in p.lock_keys]
    for attempt in range(DEADLOCK_RETRIES):
        try:
            async with pool.acquire(timeout=timeout) as conn:
                results = await db_reports.intake(conn, items, independent, keys)
            break
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            # Two batches of one inspector overlapping on a client_id may
            # deadlock on the unique index; the whole call is safe to repeat.
            if attempt == DEADLOCK_RETRIES - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    codes = {"created": 201, "replay": 200, "conflict": 409}
    return [Outcome(codes[r["outcome"]], r["response"]) for r in results]


def independence(prepared: list[PreparedReport]) -> list[bool]:
    """For each report, whether it shares no lock key with an earlier report of the list.

    Sharing no key means no earlier report can be its retry (same client_id)
    or its duplicate (within the radius), so the database may write it
    together with the others instead of one by one.
    """
    seen: set[int] = set()
    flags = []
    for p in prepared:
        flags.append(seen.isdisjoint(p.lock_keys))
        seen.update(p.lock_keys)
    return flags


def conflict_error(client_id: str) -> Conflict:
    return Conflict(
        f"client_id {client_id!r} was already used for a different report",
        code="idempotency_conflict",
        details=[field_error(["client_id"], "already used with a different body", "idempotency_conflict")],
    )


def present(response: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """The acknowledgement as the client sees it: the deadline in the city's time zone."""
    out = {key: response.get(key) for key in RESPONSE_FIELDS}
    deadline_at = out.get("deadline_at")
    if isinstance(deadline_at, str):
        out["deadline_at"] = dt.datetime.fromisoformat(deadline_at).astimezone(tz).isoformat()
    return out

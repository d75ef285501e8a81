"""Intake: validated reports become routed, deadlined cases (or join an open duplicate).

``accept_reports`` is the one way in, for the native single and batch calls and for Open311: it
checks the photos, prepares each report, hands them to the worker's group committer (which writes
them, one database round trip per shared transaction, and tells the other workers after each
commit) and answers each, in order, accepted or refused. ``prepare`` is pure: datum conversion,
grid assignment, routing and the deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from geo import gcj02
from geo.grid import METRES_PER_DEGREE
from grid_service.auth import Principal
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db import media as db_media
from grid_service.db import reports as db_reports
from grid_service.db.failures import as_api_error
from grid_service.db.reports import IntakeItem, Outcome, PreparedReport
from grid_service.db.tasks import audience
from grid_service.domain.enums import REGISTERED_BY_RECEIVERS, CaseStatus, Crs, Role, Source, TaskKind
from grid_service.domain.ids import uuid7
from grid_service.errors import ApiError, Conflict, ValidationFailed, field_error, unknown_media
from grid_service.flows.group_commit import GroupCommitter
from grid_service.flows.routing import Routed, plan_check, route
from grid_service.schemas import ForeignReport, ReportAccepted, ReportCreate

log = logging.getLogger(__name__)

HAND_OVER_EVERY = 50  # reports prepared before handing them to the writer
RESPONSE_FIELDS = tuple(ReportAccepted.model_fields)  # the acknowledgement, declared once (schemas)


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


def body_hash(report: ReportCreate | ForeignReport) -> bytes:
    """Identity of a submission's content, independent of key order, spacing and defaults spelled out.
    Fields added later are left out at their defaults (LATER_FIELDS)."""
    exclude = {name for name, default in LATER_FIELDS.items() if getattr(report, name) == default}
    return hashlib.sha256(report.model_dump_json(exclude=exclude).encode()).digest()


# Fields added after reports were first stored, with their defaults: left at the default, they are
# left out of the hash, so a retry of a report stored before they existed still matches.
LATER_FIELDS: dict[str, object] = {"source": None, "self_handled": False, "after_media": (), "condition": None}


def source_of(caller: Principal, requested: Source | None) -> Source:
    """The report's source: a channel's own, a receiver's choice of hotline or leader, an inspector's
    own reports (SPEC §10). Any other source asked for is refused, never silently replaced."""
    if caller.role is Role.CHANNEL and caller.source is not None:
        allowed, given = frozenset({caller.source}), caller.source
    elif caller.role in (Role.RECEIVER, Role.SHIFT_LEAD):
        allowed, given = REGISTERED_BY_RECEIVERS, None
    elif caller.role is Role.ADMIN:
        allowed, given = frozenset(Source), Source.INSPECTOR
    else:
        allowed, given = frozenset({Source.INSPECTOR}), Source.INSPECTOR
    source = requested or given
    if source is None or source not in allowed:
        names = ", ".join(sorted(allowed))
        raise ValidationFailed(
            f"a {caller.role.value} token may send reports of source {names}",
            details=[field_error(["source"], f"must be one of: {names}", "source_not_allowed")],
        )
    return source


def prepare(
    principal: Principal, report: ReportCreate | ForeignReport, snapshot: ConfigSnapshot, now: dt.datetime
) -> PreparedReport:
    source = source_of(principal, report.source)
    category = snapshot.categories.get(report.category)
    if category is None:
        raise ValidationFailed(
            f"unknown category {report.category!r}",
            details=[field_error(["category"], "unknown category", "unknown_category")],
        )
    if report.condition is not None and category.condition(report.condition) is None:
        raise ValidationFailed(
            f"category {category.code!r} has no condition {report.condition!r}",
            details=[field_error(["condition"], "not a condition of the category", "unknown_condition")],
        )
    lon = lat = input_lon = input_lat = None
    assignment = None
    if report.location is not None:
        input_lon, input_lat = report.location.coordinates
        lon, lat = (input_lon, input_lat) if report.crs is Crs.WGS84 else gcj02.to_wgs84(input_lon, input_lat)
        assignment = snapshot.grid.assign(lon, lat)
    grid_code = assignment.cell.code if assignment else None
    case_id = uuid7()
    check = None
    resolution = None
    if report.self_handled:
        if principal.role not in (Role.INSPECTOR, Role.ADMIN):
            raise ValidationFailed(
                "only an inspector handles a problem on the spot",
                details=[field_error(["self_handled"], "an inspector's only", "self_handling_not_allowed")],
            )
        # Fixed on the spot: closed now, no department, no deadline; never joined to another case.
        routed, condition, resolution = Routed(CaseStatus.CLOSED, None), None, "self_handled"
    elif snapshot.filing.check_first(source, category.code):
        # An inspector looks first; then a receiver files it (or, where the source is filed
        # automatically, the confirmed check files it).
        routed, condition = Routed.waiting_for_a_receiver(), None
        check = plan_check(TaskKind.CHECK_REPORT, case_id, grid_code, snapshot, now)
    elif snapshot.filing.policy_for(source, category.code) == "review":
        routed, condition = Routed.waiting_for_a_receiver(), None  # filed (and routed) by a receiver
    else:
        condition = category.condition(report.condition or category.default_condition)
        routed = route(
            snapshot,
            category,
            grid_code,
            placed=report.location is not None,
            urgent=report.urgent,
            condition=condition,
            now=now,
        )

    keys = [lock_key(f"idem:{principal.token_id}:{report.client_id}")]
    joins = not report.self_handled and category.duplicate_radius_m > 0 and category.duplicate_window_hours > 0
    if lon is not None and lat is not None and joins:
        keys.extend(duplicate_lock_keys(category.code, lon, lat, category.duplicate_radius_m))
    item = IntakeItem(
        at=now,
        report_id=uuid7(),
        case_id=case_id,
        token_id=principal.token_id,
        actor=principal.actor,
        client_id=report.client_id,
        body_hash=body_hash(report),
        category=category.code,
        lon=lon,
        lat=lat,
        crs=report.crs.value,
        input_lon=input_lon,
        input_lat=input_lat,
        accuracy_m=report.accuracy_m,
        urgent=report.urgent,
        description=report.description,
        address=report.address,
        # (isinstance, not getattr: a missing attribute on a pydantic model takes a slow path)
        media_url=report.media_url if isinstance(report, ForeignReport) else None,
        observed_at=report.observed_at,
        timezone=snapshot.calendar.timezone.key,
        status=routed.status.value,
        pending_reason=routed.pending_reason.value if routed.pending_reason else None,
        grid_version=snapshot.grid_version if grid_code else None,
        grid_code=grid_code,
        grid_name=assignment.cell.name if assignment else None,
        department=routed.department,
        department_name=snapshot.departments[routed.department].name if routed.department else None,
        routing_rule_id=routed.rule_id,
        routing_rule=routed.rule,
        deadline_at=routed.deadline_at,
        warn_at=routed.warn_at,
        duplicate_radius_m=category.duplicate_radius_m if joins else 0.0,
        duplicate_window_hours=category.duplicate_window_hours,
        source=source.value,
        condition=condition.code if condition else None,
        check_task_id=check.id if check else None,
        check_assigned_to=check.assigned_to if check else None,
        check_audience=audience(check.assigned_to) if check else None,
        check_due_at=check.due_at if check else None,
        resolution=resolution,
        after_media=list(report.after_media),
        accept_due_at=routed.accept_due_at,
    )
    return PreparedReport(item=item, media=(*report.media, *report.after_media), lock_keys=tuple(keys))


@dataclass(frozen=True, slots=True)
class Accepted:
    status_code: int  # 201 stored now, 200 the identical answer to a retry
    acknowledgement: dict[str, Any]  # as the client sees it


async def _stored_answer(
    pool: asyncpg.Pool,
    caller: Principal,
    report: ReportCreate | ForeignReport,
    snapshot: ConfigSnapshot,
    timeout: float,
) -> Accepted | ApiError | None:
    """For a report refused as it is now (its category since stopped, its photos, its place): the
    answer already given to it, if it was stored before (a retry whose first answer was lost), so
    that a phone never drops a report the service has; None when it is new. Asked only on a refusal:
    the accepted path pays nothing for it."""
    async with pool.acquire(timeout=timeout) as conn:
        stored = await db_reports.stored_report(conn, token_id=caller.token_id, client_id=report.client_id)
    if stored is None:
        return None
    if stored.body_hash != body_hash(report):
        return conflict_error(report.client_id)
    return Accepted(200, present(stored.response, snapshot.calendar.timezone))


async def stored_answers(
    pool: asyncpg.Pool,
    caller: Principal,
    reports: Sequence[ReportCreate | ForeignReport | ApiError],
    refusal: ApiError,
    *,
    snapshot: ConfigSnapshot,
    timeout: float,
) -> list[Accepted | ApiError]:
    """For a caller past its rate limit: each report already stored is answered as before (a phone
    retrying after a lost answer never meets the limit), every other one gets ``refusal``."""
    valid = [r for r in reports if not isinstance(r, ApiError)]
    async with pool.acquire(timeout=timeout) as conn:
        stored = await db_reports.stored_reports(
            conn, token_id=caller.token_id, client_ids=[r.client_id for r in valid]
        )
    tz = snapshot.calendar.timezone
    answers: list[Accepted | ApiError] = []
    for report in reports:
        found = None if isinstance(report, ApiError) else stored.get(report.client_id)
        if isinstance(report, ApiError):
            answers.append(report)
        elif found is None:
            answers.append(refusal)
        elif found.body_hash != body_hash(report):
            answers.append(conflict_error(report.client_id))
        else:
            answers.append(Accepted(200, present(found.response, tz)))
    return answers


async def accept_reports(
    committer: GroupCommitter,
    pool: asyncpg.Pool,
    caller: Principal,
    reports: Sequence[ReportCreate | ForeignReport | ApiError],
    *,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    timeout: float,
) -> list[Accepted | ApiError]:
    """Accept validated reports (an ApiError in the list is an item that failed validation: it is
    answered as it is); one answer per report, in order, each once its transaction has committed.
    Whatever fails for one report (its photos, its category, the database refusing it or being
    away) is that report's answer alone."""
    answers: list[Accepted | ApiError | None] = [r if isinstance(r, ApiError) else None for r in reports]
    valid = [(i, r) for i, r in enumerate(reports) if not isinstance(r, ApiError)]
    wanted = {sha for _, r in valid for sha in r.media}
    missing: set[str] = set()
    if wanted:
        async with pool.acquire(timeout=timeout) as conn:
            missing = await db_media.unknown(conn, wanted)
    waiting: list[tuple[int, str, asyncio.Future[Outcome]]] = []
    ready: list[tuple[int, str, PreparedReport]] = []
    for position, (index, report) in enumerate(valid):
        try:
            if missing.intersection(report.media):
                raise unknown_media(report.media, missing)
            ready.append((index, report.client_id, prepare(caller, report, snapshot, now)))
        except ApiError as exc:
            answers[index] = await _stored_answer(pool, caller, report, snapshot, timeout) or exc
        if len(ready) == HAND_OVER_EVERY or (ready and position == len(valid) - 1):
            futures = committer.enqueue([p for _, _, p in ready])
            waiting.extend((i, c, f) for (i, c, _), f in zip(ready, futures, strict=True))
            ready = []
            await asyncio.sleep(0)  # let the writes already queued start while the rest is prepared
    tz = snapshot.calendar.timezone
    outcomes = await asyncio.gather(*(f for _, _, f in waiting), return_exceptions=True)
    for (index, client_id, _), outcome in zip(waiting, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):
            answers[index] = _failure(outcome)
        elif outcome.response is None:
            answers[index] = conflict_error(client_id)
        else:
            answers[index] = Accepted(outcome.status_code, present(outcome.response, tz))
    return [a if a is not None else ApiError("internal error") for a in answers]


def _failure(exc: BaseException) -> ApiError:
    error = as_api_error(exc)
    if error is None:
        log.error("a report failed in the database", exc_info=exc)
        return ApiError("internal error")
    return error


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

"""How every read presents a case: the one shape shared by the API, the queue, the map and the feed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from grid_service.configuration.people import LabelsConfig
from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.db.rows import CaseView, EventEntry, MapCase, ReportView, TaskView
from grid_service.domain.lights import is_overdue, light
from grid_service.domain.steps import step_clock, task_clock
from grid_service.schemas import CaseStatus


def point(lon: float | None, lat: float | None) -> dict[str, Any] | None:
    """A GeoJSON point, or None for a case placed by address alone."""
    return {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None


def _iso(value: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def present_case(
    row: CaseView,
    snapshot: ConfigSnapshot,
    now: dt.datetime,
    reports: list[ReportView] | None = None,
    events: list[EventEntry] | None = None,
) -> dict[str, Any]:
    tz = snapshot.calendar.timezone
    status = CaseStatus(row.status)
    step = step_clock(row.status, row.step_since, snapshot.filing.steps.minutes)
    case: dict[str, Any] = {
        "id": str(row.id),
        "case_no": row.case_no,
        "status": status.value,
        "pending_reason": row.pending_reason,
        "category": {"code": row.category, "name": row.category_name},
        "urgent": row.urgent,
        "location": point(row.lon, row.lat),
        "grid": {"code": row.grid_code, "name": row.grid_name} if row.grid_code else None,
        "department": ({"code": row.department, "name": row.department_name} if row.department else None),
        "routing_rule": row.routing_rule,
        "created_at": _iso(row.created_at, tz),
        "dispatched_at": _iso(row.dispatched_at, tz),
        "deadline_at": _iso(row.deadline_at, tz),
        "light": step.light(now)
        if step
        else light(status=status, warn_at=row.warn_at, deadline_at=row.deadline_at, now=now),
        "overdue": is_overdue(status=status, deadline_at=row.deadline_at, now=now),
        "step_due_at": _iso(step.due_at, tz) if step else None,
        "step_overdue": step is not None and now >= step.due_at,
        "rework_count": row.rework_count,
        "report_count": row.report_count,
        "updated_at": _iso(row.updated_at, tz),
        "source": row.source,
        "condition": row.condition,
        "resolution": row.resolution,
        "original_deadline_at": _iso(row.original_deadline_at or row.deadline_at, tz),
        "accept_due_at": _iso(row.accept_due_at, tz) if status is CaseStatus.DISPATCHED else None,
        "suspended_until": _iso(row.suspended_until, tz),
        "open_request": row.open_request,
        "returns": row.returns,
        "extensions": row.extensions,
        "ruled_department": row.ruled_department,
        "supervision_due_at": _iso(row.supervision_due_at, tz),
    }
    if reports is not None:
        case["reports"] = [
            {
                "id": str(r.id),
                "client_id": r.client_id,
                "inspector": r.inspector,
                "duplicate": r.duplicate,
                "location": point(r.lon, r.lat),
                "crs": r.crs,
                "accuracy_m": r.accuracy_m,
                "urgent": r.urgent,
                "description": r.description,
                "address": r.address,
                "media": list(r.media),
                "photos": [_photo(p, tz) for p in r.photos],
                "media_url": r.media_url,
                "observed_at": _iso(r.observed_at, tz),
                "received_at": _iso(r.received_at, tz),
                "source": r.source,
            }
            for r in reports
        ]
    if events is not None:
        case["history"] = [
            {
                "seq": e.seq,
                "type": e.type,
                "at": _iso(e.at, tz),
                "actor": e.actor,
                "note": e.note,
                "data": _times_in(e.data, tz),
            }
            for e in events
        ]
    return case


def _times_in(data: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """An event's data with its instants (``deadline_at``) in the city's offset, as every other
    time the API answers; the log keeps them as they were written (UTC)."""
    out = dict(data)
    for key, value in data.items():
        if key.endswith("_at") and isinstance(value, str):
            try:
                out[key] = dt.datetime.fromisoformat(value).astimezone(tz).isoformat()
            except ValueError:
                continue  # not an instant after all: shown as written
    return out


def map_feature(row: MapCase, snapshot: ConfigSnapshot, now: dt.datetime) -> dict[str, Any]:
    """A case as the map and the live feed carry it: a GeoJSON point with what a wall screen shows.
    Names of categories, departments and cells come from the catalogue and the cell layer;
    everything else is one GET /api/v1/cases/{id} away. Built for 100,000 cases at a time: the
    status stays a string and instants stay datetimes (orjson writes them, as isoformat would)."""
    status = row.status
    deadline_at = row.deadline_at
    tz = snapshot.calendar.timezone
    step = step_clock(status, row.step_since, snapshot.filing.steps.minutes)
    return {
        "type": "Feature",
        "id": str(row.id),
        "geometry": point(row.lon, row.lat),
        "properties": {
            "id": str(row.id),
            "case_no": row.case_no,
            "status": status,
            "pending_reason": row.pending_reason,
            "category": row.category,
            "department": row.department,
            "grid": row.grid_code,
            "urgent": row.urgent,
            "created_at": row.created_at.astimezone(tz),
            "deadline_at": deadline_at.astimezone(tz) if deadline_at else None,
            "warn_at": row.warn_at.astimezone(tz) if row.warn_at else None,
            "light": step.light(now)
            if step
            else light(status=status, warn_at=row.warn_at, deadline_at=deadline_at, now=now),
            "step_due_at": step.due_at.astimezone(tz) if step else None,
            "step_warn_at": step.warn_at.astimezone(tz) if step else None,
            "check": (
                {
                    "kind": row.check_kind,
                    "label": getattr(snapshot.labels, row.check_kind),
                    "assigned_to": row.check_assigned_to,
                    "due_at": row.check_due_at.astimezone(tz) if row.check_due_at else None,
                    "overdue": row.check_due_at is not None and now >= row.check_due_at,
                }
                if row.check_kind
                else None
            ),
            "overdue": is_overdue(status=status, deadline_at=deadline_at, now=now),
            "source": row.source,
            "open_request": row.open_request,
            "supervision_due_at": row.supervision_due_at.astimezone(tz) if row.supervision_due_at else None,
            "suspended_until": row.suspended_until.astimezone(tz) if row.suspended_until else None,
        },
    }


def present_check(task: TaskView, labels: LabelsConfig, tz: dt.tzinfo, now: dt.datetime) -> dict[str, Any]:
    """A check task as its list and its case show it, with the city's word for its kind and, while
    it is open, the light of its limit."""
    clock = task_clock(task.reassigned_at or task.created_at, task.due_at) if task.status == "open" else None
    return {
        "id": str(task.id),
        "kind": task.kind,
        "label": getattr(labels, task.kind),
        "case_id": str(task.case_id),
        "case_no": task.case_no,
        "status": task.status,
        "assigned_to": task.assigned_to,
        "due_at": task.due_at.astimezone(tz).isoformat(),
        "created_at": task.created_at.astimezone(tz).isoformat(),
        "reassigned": task.reassigned_at is not None,
        "outcome": task.outcome,
        "light": clock.light(now) if clock else None,
        "overdue": clock is not None and now >= clock.due_at,
    }


def _photo(capture: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """A report's photo with where and when the phone took it (None where it did not say)."""

    def instant(value: str | None) -> str | None:
        return _iso(dt.datetime.fromisoformat(value), tz) if value else None

    lon, lat = capture["lon"], capture["lat"]
    return {
        "id": capture["id"],
        "location": point(lon, lat) if lon is not None else None,
        "accuracy_m": capture["accuracy_m"],
        "taken_at": instant(capture["taken_at"]),
        "received_at": instant(capture["received_at"]),
    }

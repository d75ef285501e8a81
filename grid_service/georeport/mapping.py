"""How the native model reads in GeoReport v2 terms, and how a GeoReport request becomes a report.

- a category is a service (its code the service_code), with one service definition for all:
  the optional attributes urgent, crs, accuracy_m and observed_at;
- a case is a service request: service_request_id is the case number, status open until the
  case is closed or cancelled, agency_responsible the department, expected_datetime the deadline,
  address_id the grid cell's code, status_notes the native status and the words the city published
  about the case (its public reply; staff notes are internal and never shown here);
- a POST becomes a ForeignReport and goes through native intake unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from typing import Annotated, Any, TypeVar

import orjson
from multidict import MultiDictProxy
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from grid_service.configuration.catalogue import CategoryConfig
from grid_service.configuration.people import LabelsConfig
from grid_service.db.rows import ServiceRequestRow
from grid_service.domain.states import FINISHED
from grid_service.errors import ValidationFailed, field_error
from grid_service.georeport.formats import w3c
from grid_service.schemas import NO_NUL, Crs, ForeignReport, PointGeometry, storable_instant

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CLOSED_STATUSES = frozenset(s.value for s in FINISHED)
# A POST identical to one the same key sent less than this long ago is its retry (see retry_client_ids).
RETRY_WINDOW = dt.timedelta(hours=24)
W3C_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


def _real_instant(text: str) -> str:
    """A W3C datetime that names a real instant, far enough from the ends of the calendar to
    count 90 days either way."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("not a real date and time") from exc
    if not dt.datetime(1000, 1, 1, tzinfo=dt.UTC) <= value <= dt.datetime(9000, 1, 1, tzinfo=dt.UTC):
        raise ValueError("outside the years 1000 to 9000")
    return text


W3CDatetime = Annotated[
    str,
    Field(pattern=W3C_DATETIME, examples=["2026-11-27T08:00:00+08:00"]),
    AfterValidator(_real_instant),
]


def _storable_text(text: str) -> str:
    storable_instant(dt.datetime.fromisoformat(text))
    return text


OWN_MEDIA = re.compile(r"/api/v1/media/([0-9a-f]{64})$")
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")

M = TypeVar("M", bound=BaseModel)


def _hours(value: float, clock: str) -> str:
    unit = "hour" if value == 1 else "hours"
    return f"{value:g} {'working ' if clock == 'working' else ''}{unit}"


def service_notice(category: CategoryConfig) -> str:
    """The public commitment (限时办结) for a category, as a request's service_notice says it."""
    notice = f"Handled within {_hours(category.limit_hours, category.clock)} of dispatch"
    if category.urgent_limit_hours:
        notice += f"; urgent: within {_hours(category.urgent_limit_hours, category.clock)}"
    return notice + "."


def service(category: CategoryConfig) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": service_notice(category),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(filter(None, (category.code, category.class_code))),
        "group": category.class_code,
    }


def service_definition(category: CategoryConfig) -> dict[str, Any]:
    urgent_limit = category.urgent_limit_hours or category.limit_hours
    return {
        "service_code": category.code,
        "attributes": [
            _attribute(
                1,
                "urgent",
                "singlevaluelist",
                f"Urgent cases are handled within {_hours(urgent_limit, category.clock)} instead of "
                f"{_hours(category.limit_hours, category.clock)}.",
                [{"key": "false", "name": "normal"}, {"key": "true", "name": "urgent"}],
            ),
            _attribute(
                2,
                "crs",
                "singlevaluelist",
                "The datum of lat and long: wgs84 (GPS, the default) or gcj02 (maps published in China).",
                [{"key": Crs.WGS84.value, "name": "WGS84"}, {"key": Crs.GCJ02.value, "name": "GCJ-02"}],
            ),
            _attribute(3, "accuracy_m", "number", "How precise the position is, in metres (0 to 100000)."),
            _attribute(4, "observed_at", "datetime", "When the problem was seen, with its UTC offset."),
        ],
    }


def _attribute(
    order: int, code: str, datatype: str, description: str, values: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": False,
        "datatype_description": None,
        "order": order,
        "description": description,
    }
    if values is not None:
        entry["values"] = values
    return entry


def service_request(row: ServiceRequestRow, tz: dt.tzinfo, notice: str | None, labels: LabelsConfig) -> dict[str, Any]:
    """A case as the public reads it (row: see db/open311.py): what the city marks public only.
    Photos uploaded here are not linked (they are visible to staff only); a link the reporter gave is.
    While an inspector is out checking it, the notes say so in the city's word (核实中, 核查中)."""
    status = row.status
    notes = f"{status} · {getattr(labels, row.open_check)}中" if row.open_check else status
    if row.public_reply:
        notes = f"{notes}: {row.public_reply}"
    return {
        "service_request_id": row.case_no,
        "status": "closed" if status in CLOSED_STATUSES else "open",
        "status_notes": notes,
        "service_name": row.category_name,
        "service_code": row.category,
        "description": row.description,
        "agency_responsible": row.department_name,
        "service_notice": notice,
        "requested_datetime": w3c(row.created_at, tz),
        "updated_datetime": w3c(row.updated_at, tz),
        "expected_datetime": w3c(row.deadline_at, tz),
        "address": row.address,
        "address_id": row.grid_code,
        "zipcode": None,
        "lat": row.lat,
        "long": row.lon,
        "media_url": row.media_url,
        "source": row.source,
    }


# --- POST requests ----------------------------------------------------------------------------

ADDRESS_MAX = 500  # what a report's address holds
Text = Annotated[str, Field(max_length=500), NO_NUL]


class RequestForm(BaseModel):
    """POST requests, form-encoded: the fields the service reads. The service definition's attributes
    come as attribute[code]=value. Others (email, first_name, last_name, phone) are accepted and not
    kept: no personal data of the public is stored."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={  # the location rule, for generated clients: a point, or an address
            "dependentRequired": {"lat": ["long"], "long": ["lat"]},
            "anyOf": [{"required": ["lat", "long"]}, {"required": ["address_string"]}, {"required": ["address_id"]}],
        },
    )

    api_key: Annotated[str, Field(min_length=1, max_length=200, description="An inspector token.")]
    service_code: Annotated[str, Field(min_length=1, max_length=64)]
    jurisdiction_id: Text | None = None
    lat: (
        Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS84 unless attribute[crs]")] | None
    ) = None
    long: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    address_string: Text | None = None
    address_id: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=4000), NO_NUL] | None = None
    media_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] | None = None
    device_id: Annotated[str, Field(max_length=200)] | None = None
    account_id: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("lat", "long", mode="before")
    @classmethod
    def _plain_number(cls, value: object) -> object:
        # Only decimal numbers: no "nan", "inf" or other spellings that float() would take.
        if isinstance(value, str) and not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", value):
            raise ValueError("must be a decimal number")
        return value


class Attributes(BaseModel):
    """The service definition's attributes, as attribute[code]=value."""

    model_config = ConfigDict(extra="forbid")

    urgent: bool = False
    crs: Crs = Crs.WGS84
    accuracy_m: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    observed_at: Annotated[W3CDatetime, AfterValidator(_storable_text)] | None = None

    @field_validator("urgent", mode="before")
    @classmethod
    def _true_or_false(cls, value: object) -> object:
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"


def read_form(form: MultiDictProxy[Any]) -> tuple[RequestForm, Attributes]:
    """The form as typed values; ValidationFailed names each bad field as the form spells it."""
    fields: dict[str, str] = {}
    attributes: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for key in form:
        values = [v for v in form.getall(key) if isinstance(v, str)]
        if len(values) != len(form.getall(key)):
            problems.append(field_error([key], "files are not taken here: upload photos to POST /api/v1/media"))
            continue
        values = [v for v in values if v.strip()]  # an empty parameter is no parameter
        if not values:
            continue
        match = ATTRIBUTE.match(key)
        if match:
            # attribute[code][]= is the list form; every attribute here is single-valued, so a
            # list of one is taken as its value.
            code = match.group(1)
            if len(values) > 1 or code in attributes:
                problems.append(field_error([key], "each attribute of this service takes a single value"))
            attributes[code] = values[0]
        elif len(values) > 1:
            problems.append(field_error([key], "given more than once"))
        else:
            fields[key] = values[0]
    parsed_form = _validated(RequestForm, fields, problems, prefix=None)
    parsed_attributes = _validated(Attributes, attributes, problems, prefix="attribute")
    if parsed_form is not None:
        problems.extend(_location_problems(parsed_form))
    if problems or parsed_form is None or parsed_attributes is None:
        raise ValidationFailed("invalid service request", details=problems)
    return parsed_form, parsed_attributes


def _location_problems(form: RequestForm) -> list[dict[str, Any]]:
    if (form.lat is None) != (form.long is None):
        return [field_error(["lat" if form.lat is None else "long"], "lat and long go together")]
    if form.lat is None and not (form.address_string or form.address_id):
        return [field_error(["lat"], "a location is required: lat and long, address_string or address_id")]
    if len(_address(form) or "") > ADDRESS_MAX:
        return [field_error(["address_id"], f"address_string and address_id together exceed {ADDRESS_MAX} characters")]
    return []


def _address(form: RequestForm) -> str | None:
    """The address kept with the report: address_string, with address_id after it."""
    address = form.address_string
    if form.address_id:
        address = f"{address} (address_id {form.address_id})" if address else f"address_id {form.address_id}"
    return address


def _validated(model: type[M], data: dict[str, str], problems: list[dict[str, Any]], *, prefix: str | None) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_context=False, include_input=False):
            name = ".".join(str(part) for part in err["loc"])
            problems.append(field_error([f"{prefix}[{name}]" if prefix else name], err["msg"], err["type"]))
        return None


def retry_client_ids(form: RequestForm, attributes: Attributes, now: dt.datetime) -> tuple[str, str]:
    """The client_id this POST is stored under, and the one its retry from the previous window would have.

    Open311 has no idempotency key, so a submission's identity is its content: every field the
    service reads, including device_id and account_id (which tell apart two people sending the same
    words through one app's key). The id carries the day (UTC) it was sent; looking up today's and
    yesterday's id finds any earlier identical POST from the last 24 hours at least.
    """
    content = form.model_dump(exclude={"api_key", "jurisdiction_id"}) | {"attributes": attributes.model_dump()}
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:40]
    day = math.floor(now.timestamp() / RETRY_WINDOW.total_seconds())
    return f"o311:{digest}:{day}", f"o311:{digest}:{day - 1}"


def foreign_report(client_id: str, form: RequestForm, attributes: Attributes) -> ForeignReport:
    """The report that a POST makes; photos uploaded here are attached, other links kept as media_url."""
    location = None
    if form.lat is not None and form.long is not None:
        location = PointGeometry(type="Point", coordinates=(form.long, form.lat))
    own_photo = OWN_MEDIA.search(form.media_url) if form.media_url else None
    return ForeignReport(
        client_id=client_id,
        category=form.service_code,
        location=location,
        crs=attributes.crs,
        accuracy_m=attributes.accuracy_m,
        urgent=attributes.urgent,
        description=form.description,
        address=_address(form),
        media=(own_photo.group(1),) if own_photo else (),
        media_url=None if own_photo else form.media_url,
        observed_at=dt.datetime.fromisoformat(attributes.observed_at) if attributes.observed_at else None,
    )

"""The GeoReport v2 contract as pydantic models: the OpenAPI document and the tests read them.

JSON lists are bare arrays (RootModel); the XML form has the same fields under the
specification's element names (see formats.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from grid_service.domain.enums import Source
from grid_service.georeport.formats import Format
from grid_service.georeport.mapping import W3CDatetime


class _Query(BaseModel):
    # Open311 clients send parameters of their own (jurisdiction_id, paging of other servers):
    # what the service does not read is ignored, as the specification's optional arguments are.
    model_config = ConfigDict(extra="ignore")

    jurisdiction_id: Annotated[str, Field(max_length=200)] | None = None


class FormatPath(BaseModel):
    format: Format


class ServicePath(FormatPath):
    service_code: Annotated[str, Field(max_length=200)]


class RequestPath(FormatPath):
    service_request_id: Annotated[str, Field(max_length=200)]


class TokenPath(FormatPath):
    token: Annotated[str, Field(max_length=200)]


class JurisdictionQuery(_Query):
    pass


MAX_REQUEST_IDS = 1000
COMMA_LIST = r"^[^,\x00]{1,64}(,[^,\x00]{1,64})*$"


class RequestsQuery(_Query):
    service_request_id: (
        Annotated[
            str,
            Field(
                max_length=64 * MAX_REQUEST_IDS,
                pattern=COMMA_LIST,
                description="Comma-separated service_request_ids (at most 1000); overrides every other filter.",
            ),
        ]
        | None
    ) = None
    service_code: (
        Annotated[
            str,
            Field(
                max_length=10_000, pattern=r"^[^,\x00]{1,64}(,[^,\x00]{1,64})*$", description="Comma-separated codes."
            ),
        ]
        | None
    ) = None
    start_date: W3CDatetime | None = None
    end_date: W3CDatetime | None = None
    status: Annotated[str, Field(pattern=r"^(open|closed)(,(open|closed))*$", description="open, closed or both.")] | (
        None
    ) = None


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: W3CDatetime
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    changeset: W3CDatetime
    contact: str | None
    key_service: str | None
    endpoints: list[Endpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str | None


class Services(RootModel[list[Service]]):
    pass


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue] | None = None


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: W3CDatetime
    updated_datetime: W3CDatetime
    expected_datetime: W3CDatetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    # An extension (GeoReport v2 lets a server add elements): where the problem was first reported
    # from — inspector, public, hotline, leader or sensor (SPEC §10).
    source: Source = Field(description="Where the case was first reported from (an extension of GeoReport v2).")


class ServiceRequests(RootModel[list[ServiceRequest]]):
    pass


class CreatedRequest(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class CreatedRequests(RootModel[list[CreatedRequest]]):
    pass


class TokenAnswer(BaseModel):
    service_request_id: str
    token: str


class TokenAnswers(RootModel[list[TokenAnswer]]):
    pass


class Open311Error(BaseModel):
    code: int
    description: str


class Open311Errors(RootModel[list[Open311Error]]):
    pass

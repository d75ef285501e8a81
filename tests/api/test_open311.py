"""Open311 GeoReport v2: the façade answers as the specification says, in JSON and XML, and a
request made through it takes exactly the native intake, routing and deadline path."""

import datetime as dt
import re
from contextlib import asynccontextmanager
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient, TestServer

from geo import gcj02
from grid_service.app import create_app
from grid_service.georeport.models import (
    CreatedRequests,
    Discovery,
    Open311Errors,
    ServiceDefinition,
    ServiceRequests,
    Services,
    TokenAnswers,
)
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, Clock, counts, report, upload_photo
from tests.api.test_deadline_watch import MONDAY_9, SHANGHAI
from tests.conftest import bearer, settings_for

BASE = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
CATEGORIES = ["construction_dust", "exposed_garbage", "illegal_construction", "outdoor_barbecue"]


@asynccontextmanager
async def clocked(db_url, clock):
    client = TestClient(TestServer(create_app(settings_for(db_url, deadline_sweep_s=3600), clock=clock)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def form(token, service_code="illegal_construction", point=IN_CELL_1, **extra):
    fields = {"api_key": token, "service_code": service_code}
    if point is not None:
        fields |= {"long": str(point[0]), "lat": str(point[1])}
    return fields | extra


async def post(client, fields, fmt="json"):
    return await client.post(f"{BASE}/requests.{fmt}", data=fields)


async def created_id(client, fields):
    response = await post(client, fields)
    body = await response.json()
    assert response.status == 200, body
    CreatedRequests.model_validate(body)
    [created] = body
    return created["service_request_id"]


async def native_case(client, tokens, case_no):
    listing = await client.get("/api/v1/cases", params={"limit": 500}, headers=bearer(tokens["dispatcher"]))
    [summary] = [c for c in (await listing.json())["cases"] if c["case_no"] == case_no]
    response = await client.get(f"/api/v1/cases/{summary['id']}", headers=bearer(tokens["dispatcher"]))
    return await response.json()


def xml(text):
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>'), text[:60]
    return ElementTree.fromstring(text.encode())  # noqa: S314 - the service's own answer


async def errors_of(response, status):
    body = await response.json()
    assert response.status == status, body
    Open311Errors.model_validate(body)
    assert all(e["code"] == status for e in body)
    return [e["description"] for e in body]


# --- discovery and services ---------------------------------------------------------------------


async def test_discovery_points_apps_at_this_endpoint(client):
    response = await client.get(f"{BASE}/discovery.json")
    body = await response.json()
    assert response.status == 200 and response.content_type == "application/json"
    Discovery.model_validate(body)
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"http://{client.host}:{client.port}{BASE}"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert W3C.match(body["changeset"])
    document = xml(await (await client.get(f"{BASE}/discovery.xml")).text())
    assert document.tag == "discovery"
    assert [f.text for f in document.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


async def test_every_category_is_a_service_with_its_time_limit(client):
    response = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "pingfang.gov.cn"})
    body = await response.json()
    Services.model_validate(body)
    assert [s["service_code"] for s in body] == CATEGORIES
    barbecue = body[3]
    assert barbecue["service_name"] == "露天烧烤" and barbecue["type"] == "realtime" and barbecue["metadata"] is True
    assert barbecue["description"] == "Handled within 2 hours of dispatch; urgent: within 1 hour."
    assert body[2]["description"] == "Handled within 37.5 working hours of dispatch; urgent: within 7.5 working hours."
    response = await client.get(f"{BASE}/services.xml")
    assert response.content_type == "text/xml" and response.charset == "utf-8"
    document = xml(await response.text())
    assert document.tag == "services"
    assert [s.findtext("service_code") for s in document.findall("service")] == CATEGORIES
    assert document.find("service/metadata").text == "true"


async def test_service_definition_lists_the_attributes(client):
    body = await (await client.get(f"{BASE}/services/outdoor_barbecue.json")).json()
    ServiceDefinition.model_validate(body)
    assert body["service_code"] == "outdoor_barbecue"
    assert [(a["code"], a["datatype"], a["order"]) for a in body["attributes"]] == [
        ("urgent", "singlevaluelist", 1),
        ("crs", "singlevaluelist", 2),
        ("accuracy_m", "number", 3),
        ("observed_at", "datetime", 4),
    ]
    assert [v["key"] for v in body["attributes"][0]["values"]] == ["false", "true"]
    document = xml(await (await client.get(f"{BASE}/services/outdoor_barbecue.xml")).text())
    assert document.tag == "service_definition"
    keys = [v.findtext("key") for v in document.findall("attributes/attribute/values/value")]
    assert keys == ["false", "true", "wgs84", "gcj02"]
    response = await client.get(f"{BASE}/services/pothole.json")
    assert await errors_of(response, 404) == ["service_code 'pothole' was not found"]
    response = await client.get(f"{BASE}/services/pothole.xml")
    assert response.status == 404
    document = xml(await response.text())
    assert document.tag == "errors" and document.findtext("error/code") == "404"


async def test_unknown_resources_and_formats_answer_open311_errors(client):
    for path in ("/nothing.json", "/services.csv", "/requests"):
        response = await client.get(BASE + path)
        assert response.status == 404, path
        Open311Errors.model_validate(await response.json())


# --- POST requests ----------------------------------------------------------------------------------


async def test_a_request_takes_the_native_path(client, tokens, db):
    service_request_id = await created_id(client, form(tokens["inspector"], description="违建", account_id="u-7"))
    case = await native_case(client, tokens, service_request_id)
    native = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    native_case_body = await native.json()
    assert case["status"] == native_case_body["status"] == "dispatched"
    assert case["grid"] == native_case_body["grid"] and case["department"] == native_case_body["department"]
    assert case["routing_rule"]["id"] == 1
    assert case["deadline_at"] is not None
    assert [e["type"] for e in case["history"]] == ["case.created", "case.dispatched"]
    assert case["reports"][0]["description"] == "违建" and case["reports"][0]["client_id"].startswith("o311:")
    response = await client.get(f"{BASE}/requests/{service_request_id}.json")
    [request] = await response.json()
    ServiceRequests.model_validate([request])
    assert request == {
        "service_request_id": service_request_id,
        "status": "open",
        "status_notes": "dispatched",
        "service_name": "违法建设",
        "service_code": "illegal_construction",
        "description": "违建",
        "agency_responsible": case["department"]["name"],
        "service_notice": "Handled within 37.5 working hours of dispatch; urgent: within 7.5 working hours.",
        "requested_datetime": dt.datetime.fromisoformat(case["created_at"]).replace(microsecond=0).isoformat(),
        "updated_datetime": dt.datetime.fromisoformat(case["updated_at"]).replace(microsecond=0).isoformat(),
        "expected_datetime": case["deadline_at"],
        "address": None,
        "address_id": case["grid"]["code"],
        "zipcode": None,
        "lat": IN_CELL_1[1],
        "long": IN_CELL_1[0],
        "media_url": None,
        "source": "inspector",
    }
    assert request["expected_datetime"].endswith("+08:00")


async def test_the_answer_names_the_account_and_the_commitment(client, tokens):
    response = await post(client, form(tokens["inspector"], "outdoor_barbecue", account_id="citizen-42"), fmt="xml")
    document = xml(await response.text())
    assert response.status == 200 and document.tag == "service_requests"
    assert re.fullmatch(r"\d{8}-\d{6}", document.findtext("request/service_request_id"))
    assert document.findtext("request/account_id") == "citizen-42"
    assert document.findtext("request/service_notice").startswith("Handled within 2 hours")
    assert document.find("request/token") is None


async def test_attributes_set_urgency_datum_accuracy_and_time(client, tokens):
    lon, lat = gcj02.to_gcj02(*IN_CELL_1)
    fields = form(
        tokens["inspector"],
        "outdoor_barbecue",
        point=(lon, lat),
        **{
            "attribute[urgent][]": "true",  # the list form, with one value
            "attribute[crs]": "gcj02",
            "attribute[accuracy_m]": "8",
            "attribute[observed_at]": "2026-11-27T10:00:00+08:00",
        },
    )
    case = await native_case(client, tokens, await created_id(client, fields))
    assert case["urgent"] is True and case["grid"]["code"] == "230108001001001"
    [stored] = case["reports"]
    assert stored["crs"] == "gcj02" and stored["accuracy_m"] == 8.0
    assert stored["observed_at"] == "2026-11-27T10:00:00+08:00"
    created, deadline = (dt.datetime.fromisoformat(case[k]) for k in ("created_at", "deadline_at"))
    assert dt.timedelta(minutes=59) < deadline - created <= dt.timedelta(hours=1)  # the urgent limit


async def test_a_request_placed_by_address_waits_for_the_dispatcher(client, tokens):
    fields = form(tokens["inspector"], point=None, address_string="新疆大街 12 号", address_id="A-77")
    service_request_id = await created_id(client, fields)
    case = await native_case(client, tokens, service_request_id)
    assert case["status"] == "pending_dispatch" and case["pending_reason"] == "no_location"
    assert case["location"] is None and case["grid"] is None and case["deadline_at"] is None
    assert case["reports"][0]["address"] == "新疆大街 12 号 (address_id A-77)"
    [request] = await (await client.get(f"{BASE}/requests/{service_request_id}.json")).json()
    assert request["lat"] is None and request["long"] is None and request["expected_datetime"] is None
    assert request["status_notes"] == "pending_dispatch" and request["agency_responsible"] is None
    map_cases = await client.get("/api/v1/map/cases", params={"status": "all"}, headers=bearer(tokens["viewer"]))
    [feature] = (await map_cases.json())["features"]
    assert feature["geometry"] is None
    dispatched = await client.post(
        f"/api/v1/cases/{case['id']}/dispatch",
        json={"department": "street_office", "note": "contractor Zhang 138 0000 0000", "public_reply": "已派遣街道办"},
        headers=bearer(tokens["dispatcher"]),
    )
    assert dispatched.status == 200 and (await dispatched.json())["deadline_at"] is not None
    [request] = await (await client.get(f"{BASE}/requests/{service_request_id}.json")).json()
    assert request["status_notes"] == "dispatched: 已派遣街道办" and request["expected_datetime"]
    xml = await (await client.get(f"{BASE}/requests/{service_request_id}.xml")).text()
    assert "Zhang" not in xml and "138" not in xml, "internal notes never reach public reads"


async def test_photos_uploaded_here_are_attached_but_not_published_and_other_links_kept(client, tokens):
    photo = await upload_photo(client, tokens["inspector"])
    own = f"http://{client.host}:{client.port}/api/v1/media/{photo}"
    case = await native_case(client, tokens, await created_id(client, form(tokens["inspector"], media_url=own)))
    assert case["reports"][0]["media"] == [photo] and case["reports"][0]["media_url"] is None
    [request] = await (await client.get(f"{BASE}/requests/{case['case_no']}.json")).json()
    assert request["media_url"] is None, "a photo's hash is not published"
    assert photo not in await (await client.get(f"{BASE}/requests.xml")).text()
    elsewhere = "https://photos.example.org/p/1.jpg"
    fields = form(tokens["inspector"], point=IN_CELL_2, media_url=elsewhere)
    [request] = await (await client.get(f"{BASE}/requests/{await created_id(client, fields)}.json")).json()
    assert request["media_url"] == elsewhere


async def test_a_retried_post_opens_no_second_case(client, tokens, db):
    fields = form(tokens["inspector"], "illegal_construction", description="retry me", device_id="phone-1")
    first = await created_id(client, fields)
    before = await counts(db)
    assert await created_id(client, fields) == first
    assert await counts(db) == before  # nothing stored: the answer was replayed
    other_device = await created_id(client, fields | {"device_id": "phone-2"})
    assert other_device != first  # someone else's identical words are a report of their own


async def test_a_changed_retry_joins_the_open_case_by_the_duplicate_rule(client, tokens, db):
    fields = form(tokens["inspector"], "outdoor_barbecue", description="烧烤")
    first = await created_id(client, fields)
    again = await created_id(client, fields | {"description": "烧烤 (sent again)"})
    assert again == first
    assert (await counts(db))["cases"] == 1 and (await counts(db))["reports"] == 2


async def test_a_retry_is_recognised_across_midnight_and_not_after_a_day(db_url, db, tokens):
    clock = Clock(dt.datetime(2026, 11, 27, 23, 59, 50, tzinfo=dt.UTC))
    async with clocked(db_url, clock) as client:
        fields = form(tokens["inspector"], "illegal_construction", description="midnight")
        first = await created_id(client, fields)
        clock.advance(seconds=20)
        assert await created_id(client, fields) == first
        assert (await counts(db))["reports"] == 1
        clock.advance(hours=25)
        assert await created_id(client, fields) != first
        assert (await counts(db))["reports"] == 2


@pytest.mark.parametrize(
    ("fields", "status", "description"),
    [
        ({"service_code": "illegal_construction", "lat": "45.6", "long": "126.6"}, 403, "api_key is required"),
        ({"api_key": "gs_nope", "service_code": "illegal_construction"}, 403, "invalid api_key"),
        ({"api_key": "@inspector"}, 400, "service_code: Field required"),
        ({"api_key": "@inspector", "service_code": "pothole", "lat": "45.6", "long": "126.6"}, 404, "not found"),
        ({"api_key": "@inspector", "service_code": "illegal_construction"}, 400, "a location is required"),
        ({"api_key": "@inspector", "service_code": "illegal_construction", "lat": "45.6"}, 400, "go together"),
        ({"api_key": "@inspector", "service_code": "illegal_construction", "lat": "nan", "long": "1"}, 400, "decimal"),
        ({"api_key": "@inspector", "service_code": "illegal_construction", "lat": "95", "long": "1"}, 400, "lat:"),
        (
            {
                "api_key": "@inspector",
                "service_code": "exposed_garbage",
                "lat": "45.6",
                "long": "126.6",
                "attribute[urgent]": "maybe",
            },
            400,
            "attribute[urgent]: Value error, must be true or false",
        ),
        (
            {
                "api_key": "@inspector",
                "service_code": "exposed_garbage",
                "lat": "45.6",
                "long": "126.6",
                "attribute[colour]": "red",
            },
            400,
            "attribute[colour]: Extra inputs are not permitted",
        ),
        (
            {
                "api_key": "@inspector",
                "service_code": "exposed_garbage",
                "lat": "45.6",
                "long": "126.6",
                "attribute[observed_at]": "2026-11-27 10:00",
            },
            400,
            "attribute[observed_at]",
        ),
        (
            {
                "api_key": "@inspector",
                "service_code": "exposed_garbage",
                "lat": "45.6",
                "long": "126.6",
                "media_url": "ftp://x",
            },
            400,
            "media_url",
        ),
        (
            {
                "api_key": "@inspector",
                "service_code": "exposed_garbage",
                "lat": "45.6",
                "long": "126.6",
                "media_url": "http://h/api/v1/media/" + "0" * 64,
            },
            400,
            "no uploaded photo has this hash",
        ),
        (
            {
                "api_key": "@inspector",
                "service_code": "exposed_garbage",
                "lat": "45.6",
                "long": "126.6",
                "attribute[urgent]": "true",
                "attribute[urgent][]": "false",
            },
            400,
            "attribute[urgent][]: each attribute of this service takes a single value",
        ),
        ({"api_key": "@department", "service_code": "exposed_garbage", "lat": "45.6", "long": "1"}, 403, "inspector"),
    ],
)
async def test_bad_requests_get_the_specifications_errors_and_store_nothing(
    client, tokens, db, fields, status, description
):
    fields = {k: tokens[v[1:]] if v.startswith("@") else v for k, v in fields.items()}
    before = await counts(db)
    for fmt in ("json", "xml"):
        response = await post(client, fields, fmt)
        assert response.status == status
        if fmt == "json":
            assert any(description in text for text in await errors_of(response, status)), await response.text()
        else:
            document = xml(await response.text())
            assert document.tag == "errors" and document.findtext("error/code") == str(status)
    assert await counts(db) == before


async def test_a_json_body_is_not_a_form(client, tokens):
    response = await client.post(f"{BASE}/requests.json", json=form(tokens["inspector"]))
    assert await errors_of(response, 400) == ["send the request form-encoded (application/x-www-form-urlencoded)"]


# --- GET requests ---------------------------------------------------------------------------------


async def test_requests_filter_by_code_status_and_dates_within_90_days(db_url, db, tokens):
    clock = Clock(MONDAY_9)
    async with clocked(db_url, clock) as client:
        old = await created_id(client, form(tokens["inspector"], "illegal_construction", description="old"))
        clock.advance(days=100)
        dust = await created_id(client, form(tokens["inspector"], "construction_dust", point=IN_CELL_2))
        clock.advance(hours=1)
        built = await created_id(client, form(tokens["inspector"], "illegal_construction", description="new"))
        case = await native_case(client, tokens, built)
        await client.post(
            f"/api/v1/cases/{case['id']}/cancel",
            json={"note": "dup", "public_reply": "重复举报"},
            headers=bearer(tokens["dispatcher"]),
        )

        async def ids(**params):
            response = await client.get(f"{BASE}/requests.json", params=params)
            body = await response.json()
            assert response.status == 200, body
            ServiceRequests.model_validate(body)
            return [r["service_request_id"] for r in body]

        assert await ids() == [built, dust]  # the last 90 days, newest first
        assert await ids(status="closed") == [built]
        assert await ids(status="open") == [dust]
        assert await ids(status="open,closed", service_code="construction_dust,exposed_garbage") == [dust]
        assert await ids(service_code="illegal_construction", status="") == [built]  # empty is not given
        since = (MONDAY_9 - dt.timedelta(days=1)).isoformat()
        assert await ids(start_date=since) == [old]  # 90 days from the start
        assert await ids(end_date=(MONDAY_9 + dt.timedelta(days=1)).isoformat()) == [old]
        window = {"start_date": "2026-11-22T00:00:00Z", "end_date": "2027-02-19T00:00:00Z"}
        assert await ids(**window) == [old]
        assert await ids(service_request_id=f"{old},{built},nope", status="open") == [old, built]  # overrides
        [closed] = await (await client.get(f"{BASE}/requests/{built}.json")).json()
        assert closed["status"] == "closed" and closed["status_notes"] == "cancelled: 重复举报"

        for params, text in (
            ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "more than 90 days"),
            ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "before start"),
            ({"start_date": "2026-06-01T00:00:00"}, "start_date"),
            ({"start_date": "0.5"}, "start_date"),
            ({"status": "pending"}, "status"),
        ):
            response = await client.get(f"{BASE}/requests.json", params=params)
            assert any(text in d for d in await errors_of(response, 400)), params
        response = await client.get(f"{BASE}/requests.xml", params={"status": "pending"})
        assert response.status == 400 and xml(await response.text()).tag == "errors"


async def test_a_list_is_capped_at_1000_newest_first(client, tokens):
    for start in range(0, 1001, 500):
        batch = [report(point=FAR_AWAY) for _ in range(min(500, 1001 - start))]
        response = await client.post(
            "/api/v1/reports/batch", json={"reports": batch}, headers=bearer(tokens["inspector"])
        )
        assert response.status == 200
    body = await (await client.get(f"{BASE}/requests.json")).json()
    assert len(body) == 1000
    times = [r["requested_datetime"] for r in body]
    assert times == sorted(times, reverse=True)
    document = xml(await (await client.get(f"{BASE}/requests.xml")).text())
    assert len(document.findall("request")) == 1000


async def test_a_single_request_is_a_one_element_list(client, tokens):
    service_request_id = await created_id(client, form(tokens["inspector"]))
    response = await client.get(f"{BASE}/requests/{service_request_id}.xml")
    document = xml(await response.text())
    assert document.tag == "service_requests" and len(document.findall("request")) == 1
    request = document.find("request")
    assert request.findtext("service_request_id") == service_request_id
    assert request.findtext("status") == "open" and request.find("zipcode").text is None
    assert W3C.match(request.findtext("requested_datetime"))
    assert await errors_of(await client.get(f"{BASE}/requests/20000101-000001.json"), 404)


async def test_a_report_id_works_as_a_token(client, tokens):
    native = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    accepted = await native.json()
    response = await client.get(f"{BASE}/tokens/{accepted['report_id']}.json")
    body = await response.json()
    TokenAnswers.model_validate(body)
    assert body == [{"service_request_id": accepted["case_no"], "token": accepted["report_id"]}]
    for token in ("not-a-token", "0190a1d2-0000-7000-8000-000000000000"):
        assert await errors_of(await client.get(f"{BASE}/tokens/{token}.json"), 404)


async def test_datetimes_are_in_the_city_time_zone_with_offsets(db_url, tokens):
    clock = Clock(dt.datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=dt.UTC))
    async with clocked(db_url, clock) as client:
        service_request_id = await created_id(client, form(tokens["inspector"], "exposed_garbage"))
        [request] = await (await client.get(f"{BASE}/requests/{service_request_id}.json")).json()
    assert request["requested_datetime"] == "2026-11-27T09:02:03+08:00"
    assert dt.datetime.fromisoformat(request["expected_datetime"]).tzinfo.utcoffset(None) == SHANGHAI.utcoffset(
        dt.datetime(2026, 11, 27)
    )


async def test_text_xml_cannot_carry_is_replaced_and_nul_is_refused(client, tokens):
    fields = form(tokens["inspector"], description="bell\x07 and\ttab")
    service_request_id = await created_id(client, fields)
    document = xml(await (await client.get(f"{BASE}/requests/{service_request_id}.xml")).text())
    assert document.findtext("request/description") == "bell\ufffd and\ttab"
    [request] = await (await client.get(f"{BASE}/requests/{service_request_id}.json")).json()
    assert request["description"] == "bell\x07 and\ttab"  # JSON carries it as it was written
    assert await errors_of(await client.get(f"{BASE}/requests/a%00b.json"), 400)
    assert await errors_of(await client.get(f"{BASE}/requests.json", params={"service_code": "a\x00"}), 400)
    native = await client.get("/api/v1/cases", params={"category": "a\x00"}, headers=bearer(tokens["viewer"]))
    assert native.status == 422 and (await native.json())["error"]["code"] == "validation_failed"

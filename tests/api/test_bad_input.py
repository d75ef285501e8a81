"""Inputs a reliability probe found answered 500 or coerced: each is a 4xx with the envelope now."""

import asyncio
import base64

import pytest

from tests.api.helpers import IN_CELL_1, counts, report
from tests.api.test_report_errors import assert_envelope
from tests.conftest import bearer


@pytest.mark.parametrize(
    "change, path",
    [
        ({"observed_at": "0001-01-01T00:00:00+08:00"}, ("observed_at",)),
        ({"observed_at": "9999-12-31T23:59:59-14:00"}, ("observed_at",)),
        ({"observed_at": 1764208800}, ("observed_at",)),  # not read as Unix time
        ({"observed_at": "1764208800"}, ("observed_at",)),  # nor a string of digits
        ({"location": {"type": "Point", "coordinates": ["126.605", "45.6025"]}}, ("location", "coordinates", 0)),
        ({"location": {"type": "Point", "coordinates": [126.605, True]}}, ("location", "coordinates", 1)),
        ({"accuracy_m": "8"}, ("accuracy_m",)),
    ],
)
async def test_numbers_must_be_numbers_and_times_strings_the_database_can_store(client, tokens, db, change, path):
    response = await client.post("/api/v1/reports", json={**report(), **change}, headers=bearer(tokens["inspector"]))
    body = await response.json()
    assert response.status == 422, body
    assert_envelope(body, "validation_failed")
    assert path in [tuple(d["path"]) for d in body["error"]["details"]]
    assert (await counts(db))["reports"] == 0


async def test_integer_coordinates_are_numbers_too(client, tokens):
    response = await client.post(
        "/api/v1/reports",
        json=report("outdoor_barbecue", point=(127, 46)),
        headers=bearer(tokens["inspector"]),
    )
    assert response.status == 201 and (await response.json())["pending_reason"] == "outside_grid"


async def test_a_queue_cursor_above_int64_is_422(client, tokens):
    cursor = base64.urlsafe_b64encode(str(2**63).encode()).decode().rstrip("=")
    response = await client.get("/api/v1/queue", params={"after": cursor}, headers=bearer(tokens["department"]))
    assert response.status == 422
    assert_envelope(await response.json(), "validation_failed")


@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-05"},
        {"to": "9999-12-31T23:59:59-14:00"},
        {"from": "0001-01-01T00:00:00+14:00", "to": "2026-01-01"},
        {"from": "2026-01-01", "to": "9999-12-31"},
    ],
)
async def test_statistics_at_the_ends_of_the_calendar_are_422(client, tokens, params):
    response = await client.get("/api/v1/stats", params=params, headers=bearer(tokens["dispatcher"]))
    assert response.status == 422, await response.text()
    assert_envelope(await response.json(), "validation_failed")


async def test_an_open311_form_with_a_byte_that_is_not_utf8_is_400(client, tokens, db):
    body = f"api_key={tokens['inspector']}&service_code=outdoor_barbecue&lat=45.6025&long=126.605&description=".encode()
    response = await client.post(
        "/open311/v2/requests.json",
        data=body + b"\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 400
    [error] = await response.json()
    assert error["code"] == 400 and "UTF-8" in error["description"]
    assert (await counts(db))["reports"] == 0


async def test_an_open311_address_over_500_characters_is_400(client, tokens, db):
    response = await client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": tokens["inspector"],
            "service_code": "outdoor_barbecue",
            "address_string": "新疆大街" * 120,
            "address_id": "A" * 100,
        },
    )
    assert response.status == 400, await response.text()
    assert any("address_id" in e["description"] for e in await response.json())
    assert (await counts(db))["reports"] == 0


async def test_the_loser_of_resolve_against_reject_gets_409_not_404(client, tokens, db):
    """The case leaves the department when the rejection wins; the resolution arriving after it is a
    conflict with the case's new state, whichever of the two the row lock lets through first."""
    for _ in range(4):
        created = await client.post(
            "/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"])
        )
        case_id = (await created.json())["case_id"]
        await client.post(f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(tokens["department"]))
        resolve, reject = await asyncio.gather(
            client.post(f"/api/v1/cases/{case_id}/resolve", json={}, headers=bearer(tokens["department"])),
            client.post(
                f"/api/v1/cases/{case_id}/reject",
                json={"reason": "not_our_responsibility", "note": "不属本部门职责"},
                headers=bearer(tokens["department"]),
            ),
        )
        assert sorted([resolve.status, reject.status]) == [200, 409]
        loser = resolve if resolve.status == 409 else reject
        body = await loser.json()
        assert_envelope(body, "invalid_transition")
        final = await db.fetchval("SELECT status FROM cases WHERE id = $1::uuid", case_id)
        assert body["error"]["details"] == [{"current_status": final}]
        cancelled = await client.post(  # out of the way of the next round's duplicate rule
            f"/api/v1/cases/{case_id}/cancel", json={}, headers=bearer(tokens["dispatcher"])
        )
        assert cancelled.status == 200


async def test_a_department_that_never_had_the_case_still_gets_404(client, tokens):
    created = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    case_id = (await created.json())["case_id"]
    response = await client.post(
        f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(tokens["department:street_office"])
    )
    assert response.status == 404

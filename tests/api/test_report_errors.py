"""Every bad input gets its status, the one error envelope, and leaves nothing behind."""

import io

import pytest

from tests.api.helpers import IN_CELL_1, counts, report, upload_photo
from tests.conftest import bearer


def assert_envelope(body, code):
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)


def paths(body):
    return [tuple(d["path"]) for d in body["error"]["details"]]


@pytest.mark.parametrize(
    "change, path",
    [
        ({"client_id": None}, ("client_id",)),
        ({"client_id": ""}, ("client_id",)),
        ({"client_id": "x" * 65}, ("client_id",)),
        ({"client_id": "has space"}, ("client_id",)),
        ({"category": None}, ("category",)),
        ({"location": None}, ("location",)),
        ({"location": {"type": "LineString", "coordinates": [126.6, 45.6]}}, ("location", "type")),
        ({"location": {"type": "Point", "coordinates": [181.0, 45.6]}}, ("location", "coordinates", 0)),
        ({"location": {"type": "Point", "coordinates": [126.6, -91]}}, ("location", "coordinates", 1)),
        ({"location": {"type": "Point", "coordinates": [126.6]}}, ("location", "coordinates", 1)),
        ({"location": {"type": "Point", "coordinates": ["east", 45.6]}}, ("location", "coordinates", 0)),
        ({"crs": "bd09"}, ("crs",)),
        ({"accuracy_m": -1}, ("accuracy_m",)),
        ({"urgent": "yes"}, ("urgent",)),
        ({"observed_at": "2026-11-27T10:00:00"}, ("observed_at",)),
        ({"observed_at": "yesterday"}, ("observed_at",)),
        ({"media": ["not-a-hash"]}, ("media", 0)),
        ({"description": "x" * 4001}, ("description",)),
        ({"colour": "red"}, ("colour",)),
        ({"category": "graffiti"}, ("category",)),
    ],
)
async def test_invalid_reports_are_422_with_the_field_path(client, tokens, db, change, path):
    body = report()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    response = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
    error = await response.json()
    assert response.status == 422
    assert_envelope(error, "validation_failed")
    assert path in paths(error)
    assert (await counts(db))["reports"] == 0


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"client_id": NaN}', b"\xff\xfe"])
async def test_malformed_json_is_400(client, tokens, db, raw):
    response = await client.post(
        "/api/v1/reports", data=raw, headers={**bearer(tokens["inspector"]), "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert_envelope(await response.json(), "malformed_request")
    assert (await counts(db))["reports"] == 0


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
async def test_json_that_is_not_an_object_is_422(client, tokens, raw):
    response = await client.post(
        "/api/v1/reports", data=raw, headers={**bearer(tokens["inspector"]), "Content-Type": "application/json"}
    )
    assert response.status == 422


async def test_wrong_content_type_is_415(client, tokens, db):
    response = await client.post(
        "/api/v1/reports",
        data=b"client_id=1",
        headers={**bearer(tokens["inspector"]), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 415
    assert_envelope(await response.json(), "unsupported_media_type")


async def test_a_body_over_the_limit_is_413(client, tokens, db):
    huge = b'{"description": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/reports",
        data=io.BytesIO(huge),
        headers={**bearer(tokens["inspector"]), "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert_envelope(await response.json(), "payload_too_large")
    assert (await counts(db))["reports"] == 0


async def test_unknown_route_and_wrong_method_use_the_envelope(client, tokens):
    missing = await client.get("/api/v1/nothing-here", headers=bearer(tokens["admin"]))
    assert missing.status == 404
    assert_envelope(await missing.json(), "not_found")
    wrong = await client.delete("/api/v1/reports", headers=bearer(tokens["admin"]))
    assert wrong.status == 405 and wrong.headers["Allow"] == "POST"
    assert_envelope(await wrong.json(), "method_not_allowed")


async def test_a_report_failing_in_the_database_leaves_nothing_behind(client, tokens, db):
    # Make the last statement of the intake transaction fail (after the case, report and events
    # rows are written): a constraint that rejects the second photo's hash.
    await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    before = await counts(db)
    await db.execute("ALTER TABLE report_media ADD CONSTRAINT no_b CHECK (sha256 NOT LIKE 'b%')")
    photos = [await upload_photo(client, tokens["inspector"], first_hex=h) for h in "ab"]
    response = await client.post(
        "/api/v1/reports",
        json=report(point=IN_CELL_1, media=photos),
        headers=bearer(tokens["inspector"]),
    )
    assert response.status == 500
    assert_envelope(await response.json(), "internal_error")
    assert await counts(db) == before

import asyncio
import hashlib
import io

import pytest

from tests.api.helpers import counts, report
from tests.conftest import bearer
from tests.images import decompression_bomb, encoded, jpeg_of_about, png, png_claiming

MB = 1024 * 1024
PNG = png(seed=1)
JPEG = encoded("JPEG", seed=2)
WEBP = encoded("WEBP", seed=3)


async def upload(client, token, data, content_type):
    response = await client.post(
        "/api/v1/media", data=io.BytesIO(data), headers={**bearer(token), "Content-Type": content_type}
    )
    return response.status, await response.json()


@pytest.mark.parametrize("data, content_type", [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
async def test_a_photo_is_stored_by_its_hash_once_and_served_back(client, tokens, db, data, content_type):
    status, stored = await upload(client, tokens["inspector"], data, content_type)
    digest = hashlib.sha256(data).hexdigest()
    assert status == 201 and stored == {"id": digest, "url": f"/api/v1/media/{digest}"}
    again_status, again = await upload(client, tokens["inspector"], data, content_type)
    assert (again_status, again) == (200, stored)
    assert await db.fetchval("SELECT count(*) FROM media") == 1
    served = await client.get(stored["url"], headers=bearer(tokens["inspector"]))
    assert served.status == 200 and served.content_type == content_type and await served.read() == data
    assert served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("megabytes", [0.3, 2, 9])
async def test_phone_sized_photos_are_stored_whole_over_a_real_socket(client, tokens, db, megabytes):
    data = jpeg_of_about(int(megabytes * MB), seed=int(megabytes * 10))
    assert len(data) < 10 * MB
    status, stored = await upload(client, tokens["inspector"], data, "image/jpeg")
    assert status == 201 and stored["id"] == hashlib.sha256(data).hexdigest()
    assert await db.fetchval("SELECT size FROM media WHERE sha256 = $1", stored["id"]) == len(data)


async def test_a_chunked_photo_is_read_to_its_end(client, tokens, db):
    data = jpeg_of_about(2 * MB, seed=7)

    async def chunks():
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]

    response = await client.post(
        "/api/v1/media", data=chunks(), headers={**bearer(tokens["inspector"]), "Content-Type": "image/jpeg"}
    )
    stored = await response.json()
    assert response.status == 201 and stored["id"] == hashlib.sha256(data).hexdigest()


async def test_an_11_mb_photo_is_413_with_nothing_stored(client, tokens, db):
    status, error = await upload(client, tokens["inspector"], jpeg_of_about(11 * MB, seed=11), "image/jpeg")
    assert status == 413 and error["error"]["code"] == "payload_too_large"
    assert await db.fetchval("SELECT count(*) FROM media") == 0


async def test_a_chunked_upload_past_the_limit_is_answered_413_before_it_ends(client, tokens, db):
    """100 MB offered in chunks with no Content-Length: the answer comes once 10 MB have passed."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b"POST /api/v1/media HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
        + f"Authorization: Bearer {tokens['inspector']}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"\xff" * (256 * 1024)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0

    async def offer() -> None:
        nonlocal sent
        while sent < 100 * MB:
            writer.write(framed)
            await writer.drain()
            sent += len(chunk)

    sending = asyncio.create_task(offer())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    assert sent < 100 * MB
    assert await db.fetchval("SELECT count(*) FROM media") == 0


@pytest.mark.parametrize(
    "data, why",
    [
        (png(seed=4)[:8] + b"<html><script>alert(1)</script></html>", "HTML behind a PNG signature"),
        (png_claiming(100_000, 100_000), "a 1x1 PNG claiming 100,000 x 100,000 pixels"),
        (decompression_bomb(), "64 million pixels of zeros in 60 KB"),
        (png(64, 64, seed=5)[:-200], "a truncated PNG"),
    ],
)
async def test_what_only_looks_like_a_png_is_refused(client, tokens, db, data, why):
    status, error = await upload(client, tokens["inspector"], data, "image/png")
    assert status == 422 and error["error"]["code"] == "validation_failed", why
    assert await db.fetchval("SELECT count(*) FROM media") == 0


async def test_a_truncated_jpeg_is_refused(client, tokens, db):
    data = jpeg_of_about(300 * 1024, seed=6)
    status, _ = await upload(client, tokens["inspector"], data[: len(data) // 2], "image/jpeg")
    assert status == 422
    assert await db.fetchval("SELECT count(*) FROM media") == 0


async def test_bytes_that_are_not_the_declared_image_are_refused(client, tokens, db):
    status, error = await upload(client, tokens["inspector"], PNG, "image/jpeg")
    assert status == 422 and error["error"]["code"] == "validation_failed"
    status, _ = await upload(client, tokens["inspector"], b"GIF89a" + b"x" * 10, "image/png")
    assert status == 422
    assert await db.fetchval("SELECT count(*) FROM media") == 0


async def test_other_content_types_are_415(client, tokens, db):
    status, error = await upload(client, tokens["inspector"], b"hello", "text/plain")
    assert status == 415 and error["error"]["code"] == "unsupported_media_type"
    assert await db.fetchval("SELECT count(*) FROM media") == 0


@pytest.mark.parametrize("media_id", ["0" * 64, "not-a-hash"])
async def test_unknown_media_is_404(client, tokens, media_id):
    response = await client.get(f"/api/v1/media/{media_id}", headers=bearer(tokens["viewer"]))
    assert response.status == 404 and (await response.json())["error"]["code"] == "not_found"


async def test_a_photo_is_visible_to_its_uploader_until_a_case_shows_it_then_to_the_cases_readers(client, tokens, db):
    _, stored = await upload(client, tokens["inspector"], PNG, "image/png")

    async def status_for(role: str) -> int:
        return (await client.get(stored["url"], headers=bearer(tokens[role]))).status

    assert await status_for("inspector") == 200
    assert [await status_for(r) for r in ("inspector2", "viewer", "dispatcher", "department")] == [404] * 4
    created = await client.post(
        "/api/v1/reports", json=report(media=[stored["id"]]), headers=bearer(tokens["inspector"])
    )
    assert created.status == 201 and (await created.json())["department"]["code"] == "urban_management"
    assert [await status_for(r) for r in ("inspector2", "viewer", "dispatcher", "department")] == [200] * 4
    assert await status_for("department:street_office") == 404, "another department's case"


async def test_an_after_photo_is_visible_to_the_readers_of_the_case_it_was_attached_to(client, tokens, db):
    created = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
    case_id = (await created.json())["case_id"]
    _, after = await upload(client, tokens["department"], PNG, "image/png")
    assert (await client.get(after["url"], headers=bearer(tokens["viewer"]))).status == 404
    await client.post(f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(tokens["department"]))
    resolved = await client.post(
        f"/api/v1/cases/{case_id}/resolve", json={"media": [after["id"]]}, headers=bearer(tokens["department"])
    )
    assert resolved.status == 200
    assert (await client.get(after["url"], headers=bearer(tokens["viewer"]))).status == 200
    assert (await client.get(after["url"], headers=bearer(tokens["department:street_office"]))).status == 404


async def test_reports_and_actions_may_refer_only_to_uploaded_photos(client, tokens, db):
    _, stored = await upload(client, tokens["inspector"], PNG, "image/png")
    missing = "f" * 64
    response = await client.post(
        "/api/v1/reports", json=report(media=[stored["id"], missing]), headers=bearer(tokens["inspector"])
    )
    error = await response.json()
    assert response.status == 422 and error["error"]["details"][0]["path"] == ["media", 1]
    assert (await counts(db))["reports"] == 0

    batch = await client.post(
        "/api/v1/reports/batch",
        json={"reports": [report(media=[missing]), report(media=[stored["id"]])]},
        headers=bearer(tokens["inspector"]),
    )
    results = (await batch.json())["results"]
    assert [r["status_code"] for r in results] == [422, 201]
    assert results[0]["error"]["details"][0]["path"] == ["reports", 0, "media", 0]

    case_id = results[1]["report"]["case_id"]
    await client.post(f"/api/v1/cases/{case_id}/accept", json={}, headers=bearer(tokens["department"]))
    resolve = await client.post(
        f"/api/v1/cases/{case_id}/resolve", json={"media": [missing]}, headers=bearer(tokens["department"])
    )
    assert resolve.status == 422 and (await resolve.json())["error"]["details"][0]["path"] == ["media", 0]
    status = await db.fetchval("SELECT status FROM cases WHERE id = $1::uuid", case_id)
    assert status == "in_progress", "nothing changed"


async def test_a_photo_keeps_where_and_when_the_phone_took_it(client, tokens, db):
    """Recorded with the upload (never read from EXIF, which web uploads lose), and shown with the
    report's photos: the point, the fix's accuracy, the device's clock and the server's."""
    from tests.api.helpers import IN_CELL_1

    taken = "2026-12-01T09:30:00+08:00"
    where = {"lon": "126.6051", "lat": "45.6026", "accuracy_m": "8.5", "taken_at": taken}
    headers = {**bearer(tokens["inspector"]), "Content-Type": "image/png"}
    first = await client.post("/api/v1/media", params=where, data=png(seed=11), headers=headers)
    bare = await client.post("/api/v1/media", data=png(seed=12), headers=headers)
    assert first.status == 201 and bare.status == 201
    ids = [(await first.json())["id"], (await bare.json())["id"]]
    made = await client.post(
        "/api/v1/reports", json=report(point=IN_CELL_1, media=ids), headers=bearer(tokens["inspector"])
    )
    case = await (
        await client.get(f"/api/v1/cases/{(await made.json())['case_id']}", headers=bearer(tokens["viewer"]))
    ).json()
    [with_place, without] = case["reports"][0]["photos"]
    assert with_place["id"] == ids[0] and with_place["location"] == {
        "type": "Point",
        "coordinates": [126.6051, 45.6026],
    }
    assert with_place["accuracy_m"] == 8.5 and with_place["taken_at"] == taken
    assert with_place["received_at"] is not None and without["location"] is None and without["taken_at"] is None


@pytest.mark.parametrize(
    "params",
    [{"lon": "126.6"}, {"lat": "45.6"}, {"lon": "200", "lat": "45"}, {"accuracy_m": "-1"}, {"taken_at": "yesterday"}],
)
async def test_a_capture_that_is_no_place_or_time_is_422_and_stores_nothing(client, tokens, db, params):
    headers = {**bearer(tokens["inspector"]), "Content-Type": "image/png"}
    response = await client.post("/api/v1/media", params=params, data=png(seed=13), headers=headers)
    assert response.status == 422, await response.text()
    assert await db.fetchval("SELECT count(*) FROM media") == 0

import hashlib
import io

import pytest

from tests.api.helpers import PNG_SIGNATURE, counts, report
from tests.conftest import bearer

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"x" * 100
WEBP = b"RIFF" + (100).to_bytes(4, "little") + b"WEBPVP8 " + b"y" * 100
PNG = PNG_SIGNATURE + b"z" * 100


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
    again_status, again = await upload(client, tokens["department"], data, content_type)
    assert (again_status, again) == (200, stored)
    assert await db.fetchval("SELECT count(*) FROM media") == 1
    served = await client.get(stored["url"], headers=bearer(tokens["viewer"]))
    assert served.status == 200 and served.content_type == content_type and await served.read() == data


async def test_bytes_that_are_not_the_declared_image_are_refused(client, tokens, db):
    status, error = await upload(client, tokens["inspector"], PNG, "image/jpeg")
    assert status == 422 and error["error"]["code"] == "validation_failed"
    status, _ = await upload(client, tokens["inspector"], b"GIF89a" + b"x" * 10, "image/png")
    assert status == 422
    assert await db.fetchval("SELECT count(*) FROM media") == 0


async def test_other_content_types_are_415_and_large_photos_413(client, tokens, db):
    status, error = await upload(client, tokens["inspector"], b"hello", "text/plain")
    assert status == 415 and error["error"]["code"] == "unsupported_media_type"
    status, error = await upload(client, tokens["inspector"], PNG + b"0" * (10 * 1024 * 1024), "image/png")
    assert status == 413 and error["error"]["code"] == "payload_too_large"
    assert await db.fetchval("SELECT count(*) FROM media") == 0


@pytest.mark.parametrize("media_id", ["0" * 64, "not-a-hash"])
async def test_unknown_media_is_404(client, tokens, media_id):
    response = await client.get(f"/api/v1/media/{media_id}", headers=bearer(tokens["viewer"]))
    assert response.status == 404 and (await response.json())["error"]["code"] == "not_found"


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

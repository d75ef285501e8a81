"""Pages carry a strict Content-Security-Policy; every answer nosniff and no-referrer; nothing a
token was presented for is stored by a browser or a proxy."""

from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from tests.api.helpers import report, upload_photo
from tests.conftest import bearer, settings_for


def assert_everywhere(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_the_page_forbids_inline_script_framing_and_other_origins(client, tokens):
    page = await client.get("/map", params={"access_token": tokens["viewer"]})
    assert page.status == 200 and page.content_type == "text/html"
    assert_everywhere(page)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "default-src 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store", "the address held a token"
    html = await page.text()
    assert "<script>" not in html and "<style" not in html, "no inline script or style to allow"


async def test_static_files_and_api_answers_carry_the_headers(client, tokens):
    script = await client.get("/static/map/map.js")
    assert script.status == 200
    assert_everywhere(script)
    leaflet = await client.get("/static/leaflet/leaflet.js")
    assert_everywhere(leaflet)
    answer = await client.get("/api/v1/categories", headers=bearer(tokens["viewer"]))
    assert_everywhere(answer)
    assert answer.headers["Cache-Control"] == "no-store"
    missing = await client.get("/api/v1/cases/nope", headers=bearer(tokens["viewer"]))
    assert missing.status == 404 and missing.headers["Cache-Control"] == "no-store"
    public = await client.get("/healthz")
    assert_everywhere(public)


async def test_streamed_answers_and_photos_are_not_stored_either(client, tokens):
    feed = await client.get("/api/v1/feed", params={"access_token": tokens["viewer"]})
    assert feed.status == 200
    assert_everywhere(feed)
    assert feed.headers["Cache-Control"] == "no-store"
    feed.close()
    photo = await upload_photo(client, tokens["inspector"])
    await client.post("/api/v1/reports", json=report(media=[photo]), headers=bearer(tokens["inspector"]))
    served = await client.get(f"/api/v1/media/{photo}", headers=bearer(tokens["viewer"]))
    assert served.status == 200 and served.headers["Cache-Control"] == "no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_tile_server_is_the_one_other_origin_images_may_come_from(db_url):
    settings = settings_for(db_url, tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        policy = (await client.get("/map")).headers["Content-Security-Policy"]
        assert "img-src 'self' data: blob: https://*.tiles.example.org;" in policy
    finally:
        await client.close()


async def test_a_page_revalidated_keeps_its_own_policy(client):
    """A 304 carries no policy of its own: a browser takes a 304's headers over the page it kept, and an
    API policy there (sandbox) would stop the page's scripts on its second load."""
    for path, validator, condition in (
        ("/app/", "ETag", "If-None-Match"),
        ("/map", "Last-Modified", "If-Modified-Since"),
    ):
        first = await client.get(path)
        again = await client.get(path, headers={condition: first.headers[validator]})
        assert again.status == 304, path
        assert "Content-Security-Policy" not in again.headers, path
        assert again.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_service_worker_carries_the_shells_version(client):
    import re

    first, again = await client.get("/app/sw.js"), await client.get("/app/sw.js")
    text = await first.text()
    assert "__SHELL_VERSION__" not in text
    assert re.search(r'"xunchatong-shell-[0-9a-f]{16}"', text), "a new release of the shell is a new worker"
    assert text == await again.text() and first.headers["ETag"] == again.headers["ETag"]
    assert "connect-src 'self'" in first.headers["Content-Security-Policy"], "its fetches obey the page's policy"

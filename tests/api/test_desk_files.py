"""The workbench's page, files and settings as the service serves them (no session needed)."""

from __future__ import annotations

import pytest


async def test_the_settings_state_the_services_own_rules(client):
    response = await client.get("/desk/settings.json")
    assert response.status == 200
    settings = await response.json()
    assert settings["actions"]["accept"] == {"roles": ["admin", "department"], "from": ["dispatched"]}
    assert settings["actions"]["rule"]["roles"] == ["admin", "shift_lead"]
    assert "reported" in settings["actions"]["file"]["from"]
    assert set(settings["pages"]["stats"]) == {"admin", "dispatcher", "shift_lead", "viewer"}
    assert set(settings["pages"]["device_code"]) == {"admin", "shift_lead"}
    assert {"code": "230108001", "name": settings["streets"][0]["name"]} == settings["streets"][0]
    assert "case.accepted" in settings["event_types"] and settings["heavy_reads_at_once"] >= 1


async def test_the_page_and_its_scripts_are_served_compressed_and_revalidated(client):
    page = await client.get("/desk/", headers={"Accept-Encoding": "gzip"})
    assert page.status == 200 and page.headers["Content-Encoding"] == "gzip"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = await client.get("/desk/static/desk.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    again = await client.get("/desk/static/desk.js", headers={"If-None-Match": script.headers["ETag"]})
    assert again.status == 304


@pytest.mark.parametrize("name", ["nothing.js", "..%2Fdesk.py", "desk.py", "index.txt"])
async def test_nothing_but_the_workbench_files_is_served(client, name):
    response = await client.get(f"/desk/static/{name}")
    assert response.status == 404
    assert (await response.json())["error"]["code"] in {"not_found", "validation_failed"}

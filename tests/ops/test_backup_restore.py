"""The runbook's restore (docs/operations.md, "Backups"): a database with cases made through the
service is dumped with ``pg_dump -Fc``, restored with ``pg_restore`` into a fresh database, and
every case is there as it was; the service starts on the restored database, reads a case and takes
a new report whose number follows the old ones."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.db.migrate import migration_files
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, IN_STREET_3, report, upload_photo
from tests.conftest import assert_no_orphans, bearer, settings_for, with_database
from tests.ops.tools import postgres_program

DUMP_TIMEOUT_S = 60

CASES = """
SELECT c.id, c.case_no, c.status, c.department, c.deadline_at,
       (SELECT count(*) FROM events e WHERE e.case_id = c.id) AS events,
       (SELECT count(*) FROM reports r WHERE r.case_id = c.id) AS reports
  FROM cases c ORDER BY c.id
"""
PHOTOS = "SELECT sha256, md5(data) AS digest FROM media ORDER BY sha256"


async def _act(client: TestClient, token: str, case_id: str, action: str, body: dict[str, Any] | None = None) -> None:
    response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body or {}, headers=bearer(token))
    assert response.status == 200, await response.text()


async def _cases_of_every_kind(client: TestClient, tokens: dict[str, str]) -> list[str]:
    """Dispatched, in progress, resolved, closed, cancelled, waiting for the dispatcher, reported
    twice, one with a photo: the case ids."""

    async def new(category: str, point: tuple[float, float], by: str = "inspector", **extra: Any) -> str:
        body = report(category, point, **extra)
        response = await client.post("/api/v1/reports", json=body, headers=bearer(tokens[by]))
        assert response.status == 201, await response.text()
        return str((await response.json())["case_id"])

    photo = await upload_photo(client, tokens["inspector"])
    ids = [
        await new("illegal_construction", IN_CELL_1, media=[photo]),
        await new("illegal_construction", IN_CELL_2),
        await new("illegal_construction", IN_STREET_2),
        await new("outdoor_barbecue", IN_CELL_1),
        await new("outdoor_barbecue", IN_CELL_1, by="inspector2"),  # another inspector's: joins the fourth
        await new("exposed_garbage", IN_STREET_3),  # no rule: waits for the dispatcher
        await new("outdoor_barbecue", IN_CELL_2),
    ]
    department = tokens["department"]
    await _act(client, department, ids[1], "accept")
    await _act(client, department, ids[3], "accept")
    await _act(client, department, ids[3], "resolve", {"note": "put out"})
    await _act(client, department, ids[0], "accept")
    await _act(client, department, ids[0], "resolve", {"note": "removed"})
    await _act(client, tokens["inspector"], ids[0], "verify", {"passed": True})
    await _act(client, tokens["dispatcher"], ids[6], "cancel")
    return ids


def _run(command: list[str | Path]) -> None:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=DUMP_TIMEOUT_S)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr}"


async def test_a_dump_restored_into_a_fresh_database_has_every_case(client, db, db_url, pg_admin_url, tokens, tmp_path):
    pg_dump, pg_restore = postgres_program("pg_dump"), postgres_program("pg_restore")
    ids = await _cases_of_every_kind(client, tokens)
    before = [dict(r) for r in await db.fetch(CASES)]
    photos = [dict(r) for r in await db.fetch(PHOTOS)]
    assert {c["status"] for c in before} >= {"dispatched", "in_progress", "resolved", "closed", "cancelled"}
    assert any(c["reports"] == 2 for c in before), "a case reported twice"
    assert len(photos) == 1
    shown = {}
    for case_id in ids:
        response = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))
        shown[case_id] = await response.json()

    dump = tmp_path / "grid_service.dump"
    _run([pg_dump, "--format=custom", "--file", dump, "--dbname", db_url])

    name = f"gs_restored_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    restored_url = with_database(pg_admin_url, name)
    try:
        _run([pg_restore, "--exit-on-error", "--no-owner", "--dbname", restored_url, dump])
        await _check_restored(restored_url, before, photos, shown, tokens)
        await assert_no_orphans(restored_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _check_restored(
    url: str,
    before: list[dict[str, Any]],
    photos: list[dict[str, Any]],
    shown: dict[str, Any],
    tokens: dict[str, str],
) -> None:
    restored = await asyncpg.connect(url)
    try:
        assert [dict(r) for r in await restored.fetch(CASES)] == before, "every case: id, number, status, events"
        assert [dict(r) for r in await restored.fetch(PHOTOS)] == photos, "the photos' bytes"
        migrations = await restored.fetchval("SELECT count(*) FROM schema_migrations")
        assert migrations == len(migration_files()), "nothing left to migrate"
    finally:
        await restored.close()

    # The service on the restored database: the same answers, the tokens still valid, and a new
    # report numbered after the old ones (the sequences came back with the rows).
    async with TestClient(TestServer(create_app(settings_for(url)))) as client:
        for case_id, answer in shown.items():
            response = await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))
            assert response.status == 200, await response.text()
            case = await response.json()
            for field in ("case_no", "status", "department", "deadline_at", "history", "reports"):
                assert case[field] == answer[field], (case_id, field)
        response = await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))
        assert response.status == 201, await response.text()
        new_no = (await response.json())["case_no"]
        assert new_no not in {c["case_no"] for c in before}
        assert new_no > max(c["case_no"] for c in before if c["case_no"][:8] == new_no[:8])

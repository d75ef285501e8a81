"""grid-service demo: the whole story through the public API, and the command around it."""

import asyncio
import sys

from grid_service.demo import Demo, DemoTokens
from tests.conftest import make_token


async def demo_tokens(db, **channels) -> DemoTokens:
    """A token for each person the demo plays, in the fixture's departments (and any channels given)."""
    departments = ["housing", "sanitation", "street_office", "urban_management"]
    return DemoTokens(
        inspectors=[await make_token(db, "inspector") for _ in range(2)],
        dispatcher=await make_token(db, "dispatcher"),
        departments={code: await make_token(db, "department", code) for code in departments},
        receiver=await make_token(db, "receiver"),
        shift_lead=await make_token(db, "shift_lead"),
        **{name: await make_token(db, "channel", source=source) for name, source in channels.items()},
    )


async def test_the_demo_reports_works_dispatches_and_verifies_cases(client, db):
    tokens = await demo_tokens(db, citizens="public", camera="sensor")
    demo = Demo(str(client.make_url("")), tokens, rate=25, seed=7, pace=0.05)
    counts = await demo.run(duration=8)
    assert counts.get("POST reports 201", 0) > 50
    assert not [key for key in counts if key.endswith((" 500", " 422", " 401", " 403"))], counts
    assert counts.get("POST complete 422 (too far, as meant)", 0) > 0, counts
    assert counts.get("POST complete 204", 0) > 0 and counts.get("POST file 200", 0) > 0, counts
    sources = {r["source"] for r in await db.fetch("SELECT DISTINCT source FROM cases")}
    assert {"inspector", "public", "sensor"} <= sources, sources
    assert await db.fetchval("SELECT count(*) FROM cases WHERE resolution = 'self_handled'") > 0
    statuses = {r["status"]: r["n"] for r in await db.fetch("SELECT status, count(*) AS n FROM cases GROUP BY 1")}
    assert statuses.get("closed", 0) > 0 and statuses.get("in_progress", 0) + statuses.get("resolved", 0) > 0, statuses
    kinds = {r["type"] for r in await db.fetch("SELECT DISTINCT type FROM events")}
    assert {"case.created", "case.dispatched", "case.accepted", "case.resolved", "case.closed"} <= kinds, kinds
    assert {"case.filed", "case.voided", "case.check_requested", "case.check_completed"} <= kinds, kinds
    assert {"case.reported_again", "case.rejected"} & kinds, "duplicates and rejections happen too"
    assert {"case.extension_requested", "case.extension_decided", "case.suspension_requested"} <= kinds, kinds
    assert counts.get("POST decide 200", 0) > 0, counts
    outside = await db.fetchval("SELECT count(*) FROM cases WHERE pending_reason = 'outside_grid'")
    dispatched_later = await db.fetchval(
        "SELECT count(*) FROM events WHERE type = 'case.dispatched' AND actor <> 'routing'"
    )
    assert outside + dispatched_later > 0


async def demo_command(db_url: str, *args: str) -> tuple[int, str, str]:
    """`grid-service demo ARGS` as a user runs it, on the test database; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "grid_service",
        "demo",
        *args,
        env={"GRID_SERVICE_DATABASE_URL": db_url, "GRID_SERVICE_LOG_LEVEL": "WARNING", "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_demo_command_prints_the_map_address_and_what_it_did(client, db_url):
    code, out, err = await demo_command(db_url, "--url", str(client.make_url("")), "--rate", "10", "--duration", "3")
    assert code == 0, err
    assert "/map?access_token=gs_" in out
    assert "POST reports 201" in out


async def test_the_demo_says_clearly_when_the_server_is_not_there(db_url):
    code, _, err = await demo_command(db_url, "--url", "http://127.0.0.1:9", "--duration", "1")
    assert code == 1
    assert err.startswith("grid-service: ") and "Traceback" not in err


async def test_short_limits_load_a_minute_for_every_hour_of_a_limit(client, db, db_url):
    before = await db.fetchval("SELECT generation FROM config_state")
    code, out, err = await demo_command(
        db_url, "--url", str(client.make_url("")), "--rate", "5", "--duration", "1", "--short-limits"
    )
    assert code == 0, err
    assert "a minute for every hour" in out
    assert await db.fetchval("SELECT generation FROM config_state") == before + 1
    barbecue = await db.fetchrow(
        "SELECT limit_hours::float8 AS hours, clock FROM categories WHERE code = 'outdoor_barbecue'"
    )
    assert (barbecue["hours"], barbecue["clock"]) == (2 / 60, "natural"), "the shipped 2 hours: 2 minutes"
    first_rung = await db.fetchval("SELECT after_hours::float8 FROM escalation_levels ORDER BY level LIMIT 1")
    assert first_rung == 4 / 120, "the first rung's 4 hours: 2 minutes, so a 2-minute case escalates at 4"


async def test_with_limits_of_seconds_the_demo_shows_the_disputes_and_the_watch(db, db_url, monkeypatch):
    """Half a second for each hour of a limit: within seconds cases turn overdue and escalate, are
    supervised, returned twice and ruled, closed late and appealed, and the center decides."""
    from aiohttp.test_utils import TestClient, TestServer

    from grid_service import demo as demo_module
    from grid_service.app import create_app
    from grid_service.configuration.files import read_config_dir
    from grid_service.db import config_store
    from grid_service.demo import with_short_limits
    from tests.conftest import FIXTURE_CONFIG, settings_for

    monkeypatch.setattr(demo_module, "REJECT_SHARE", 0.5)  # so that some come back twice: arbitration
    await config_store.store_bundle(db, with_short_limits(read_config_dir(FIXTURE_CONFIG), minutes_per_hour=1 / 120))
    tokens = await demo_tokens(db)
    client = TestClient(TestServer(create_app(settings_for(db_url, deadline_sweep_s=0.5))))
    await client.start_server()
    try:
        counts = await Demo(str(client.make_url("")), tokens, rate=30, seed=11, pace=0.05).run(duration=15)
    finally:
        await client.close()
    assert not [key for key in counts if key.endswith((" 500", " 401", " 403"))], counts
    kinds = {r["type"] for r in await db.fetch("SELECT DISTINCT type FROM events")}
    watched = {"case.warning", "case.overdue", "case.escalated"}
    disputed = {"case.ruled", "case.supervised", "case.appealed", "case.appeal_reviewed", "case.extension_decided"}
    assert watched | disputed <= kinds, (watched | disputed) - kinds

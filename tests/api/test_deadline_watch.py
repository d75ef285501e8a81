"""The deadline watch: warnings, overdue cases and escalations, recorded once whatever the workers."""

import asyncio
import datetime as dt
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, Clock, report
from tests.conftest import bearer, settings_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


@asynccontextmanager
async def workers(db_url, clock, count=3, **overrides):
    """``count`` workers on one database sharing a clock; their own sweeps are slow unless told."""
    clients = [
        TestClient(TestServer(create_app(settings_for(db_url, **{"deadline_sweep_s": 3600, **overrides}), clock=clock)))
        for _ in range(count)
    ]
    for client in clients:
        await client.start_server()
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def submit(client, tokens, category="outdoor_barbecue", point=IN_CELL_1):
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"]))
    body = await response.json()
    assert response.status == 201, body
    return body["case_id"]


async def events_of(db, kind):
    rows = await db.fetch("SELECT case_id::text, data FROM events WHERE type = $1 ORDER BY seq", kind)
    return [(r["case_id"], r["data"]) for r in rows]


async def sweep_everywhere(clients, times=2):
    await asyncio.gather(*(c.server.app[keys.WATCH].sweep() for c in clients for _ in range(times)))


async def case(client, tokens, case_id):
    return await (await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))).json()


async def test_three_workers_record_each_warning_overdue_and_escalation_once(db_url, db, tokens):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock) as clients:
        points = [IN_CELL_1, IN_CELL_2, IN_STREET_2]
        ids = [await submit(clients[i % 3], tokens, "exposed_garbage", points[i % 3]) for i in range(12)]
        clock.advance(days=5)  # past every deadline and both rungs of the fixture ladder
        await sweep_everywhere(clients)
        await sweep_everywhere(clients)
        warnings = await events_of(db, "case.warning")
        overdue = await events_of(db, "case.overdue")
        escalated = await events_of(db, "case.escalated")
    assert sorted(c for c, _ in warnings) == sorted(ids)
    assert sorted(c for c, _ in overdue) == sorted(ids)
    assert sorted((c, d["level"]) for c, d in escalated) == sorted((i, level) for i in ids for level in (1, 2))
    assert {d["to"] for _, d in escalated} == {"section head", "district command center"}


async def test_a_case_turns_yellow_then_red_then_climbs_the_ladder(db_url, db, tokens):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        watch = client.server.app[keys.WATCH]
        case_id = await submit(client, tokens)  # outdoor barbecue: 2 hours on the natural clock
        assert (await case(client, tokens, case_id))["light"] == "green"
        clock.advance(minutes=95)  # 79 % used
        assert (await watch.sweep()).events == 0
        clock.advance(minutes=2)  # 80.8 %
        assert (await watch.sweep()).warnings == 1
        seen = await case(client, tokens, case_id)
        assert (seen["light"], seen["overdue"]) == ("yellow", False)
        clock.advance(minutes=23)  # the deadline
        assert (await watch.sweep()).overdue == 1
        seen = await case(client, tokens, case_id)
        assert (seen["light"], seen["overdue"]) == ("red", True)
        listed = await client.get("/api/v1/cases", params={"overdue": "true"}, headers=bearer(tokens["dispatcher"]))
        assert [c["id"] for c in (await listed.json())["cases"]] == [case_id]
        clock.advance(hours=2)
        assert (await watch.sweep()).escalations == 1
        clock.advance(hours=22)
        assert (await watch.sweep()).escalations == 1
        clock.advance(days=30)
        assert (await watch.sweep()).events == 0, "the top of the ladder is the end"
        history = [e["type"] for e in (await case(client, tokens, case_id))["history"]]
    assert history == [
        "case.created",
        "case.dispatched",
        "case.warning",
        "case.acceptance_overdue",  # nobody signed for it within 2 working hours (11:00), same sweep
        "case.overdue",
        "case.escalated",
        "case.escalated",
    ]
    [(_, overdue)] = await events_of(db, "case.overdue")
    assert overdue["department"] == "urban_management"


async def test_a_new_deadline_is_watched_afresh_and_a_resolved_case_is_not(db_url, db, tokens):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        watch = client.server.app[keys.WATCH]
        redispatched = await submit(client, tokens)
        resolved = await submit(client, tokens, point=IN_CELL_2)
        department = bearer(tokens["department"])
        await client.post(f"/api/v1/cases/{resolved}/accept", json={}, headers=department)
        await client.post(f"/api/v1/cases/{resolved}/resolve", json={}, headers=department)
        clock.advance(hours=3)
        assert (await watch.sweep()).overdue == 1
        answer = await client.post(
            f"/api/v1/cases/{redispatched}/dispatch",
            json={"department": "housing"},
            headers=bearer(tokens["dispatcher"]),
        )
        assert answer.status == 200 and (await answer.json())["light"] == "green"
        assert (await watch.sweep()).events == 0
        clock.advance(hours=3)
        assert (await watch.sweep()).overdue == 1
    overdue = await events_of(db, "case.overdue")
    assert [c for c, _ in overdue] == [redispatched, redispatched]
    assert [d["department"] for _, d in overdue] == ["urban_management", "housing"]


async def test_each_worker_sweeps_by_itself_within_the_interval(db_url, db, tokens):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=2, deadline_sweep_s=0.2) as clients:
        case_id = await submit(clients[0], tokens)
        clock.advance(hours=3)
        for _ in range(100):  # bounded: 10 s
            if await events_of(db, "case.overdue"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # several more sweeps by both workers
    assert [c for c, _ in await events_of(db, "case.overdue")] == [case_id]


async def test_a_rung_on_the_working_clock_counts_working_hours_past_the_deadline(db_url, db, tokens, tmp_path):
    from tests.conftest import load_config_with

    ladder = """
[[level]]
after_hours = 2
clock = "working"
to = "科室负责人"

[[level]]
after_hours = 72
to = "区指挥中心督办"
"""
    await load_config_with(db, tmp_path / "config", {"escalation.toml": ladder})
    friday_15 = dt.datetime(2026, 11, 27, 15, 0, tzinfo=SHANGHAI)
    clock = Clock(friday_15)
    async with workers(db_url, clock, count=1) as [client]:
        watch = client.server.app[keys.WATCH]
        case_id = await submit(client, tokens)  # 2 natural hours: due Friday 17:00
        clock.now = friday_15.replace(hour=17, minute=5)
        assert (await watch.sweep()).overdue == 1
        # Two working hours past Friday 17:00: Friday's last half hour, then Monday until 10:00.
        for moment, escalated in (
            (dt.datetime(2026, 11, 28, 12, 0, tzinfo=SHANGHAI), 0),  # Saturday: 19 natural hours, no working one
            (dt.datetime(2026, 11, 30, 9, 59, tzinfo=SHANGHAI), 0),
            (dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), 1),
            (dt.datetime(2026, 11, 30, 16, 59, tzinfo=SHANGHAI), 0),
            (dt.datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI), 1),  # 72 natural hours
        ):
            clock.now = moment
            assert (await watch.sweep()).escalations == escalated, moment
    rungs = await db.fetch(
        "SELECT data FROM events WHERE case_id = $1::uuid AND type = 'case.escalated' ORDER BY seq", case_id
    )
    assert [(r["data"]["level"], r["data"]["clock"]) for r in rungs] == [(1, "working"), (2, "natural")]

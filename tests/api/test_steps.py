"""Step limits (SPEC §10): 上报→受理 and 立案→派遣 recorded once when exceeded, whatever the workers."""

import asyncio
import datetime as dt
import uuid

from grid_service import keys
from grid_service.app import utc_now
from tests.api.helpers import FAR_AWAY, IN_CELL_1, report
from tests.api.test_deadline_watch import workers
from tests.conftest import bearer


async def step_events(db, case_id):
    rows = await db.fetch(
        "SELECT data FROM events WHERE case_id = $1 AND type = 'case.step_overdue' ORDER BY seq", uuid.UUID(case_id)
    )
    return [r["data"]["step"] for r in rows]


async def read(client, tokens, case_id):
    return await (await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))).json()


async def post(client, token, body):
    return await (await client.post("/api/v1/reports", json=body, headers=bearer(token))).json()


async def sweep_all(clients):
    sweeps = await asyncio.gather(*(c.server.app[keys.WATCH].sweep() for c in clients for _ in range(2)))
    return sum(s.steps for s in sweeps)


async def test_a_case_waiting_past_its_step_limit_is_recorded_once_and_turns_red(db_url, db, tokens):
    now = [utc_now()]
    async with workers(db_url, lambda: now[0], count=2) as clients:
        body = report("construction_dust", IN_CELL_1, source="leader")
        waiting = await post(clients[0], tokens["receiver"], body)
        lost = report("construction_dust", FAR_AWAY)  # outside the grid: pending dispatch at once
        pending = await post(clients[0], tokens["inspector"], lost)
        assert (waiting["status"], pending["status"]) == ("reported", "pending_dispatch")
        case = await read(clients[0], tokens, waiting["case_id"])
        assert case["light"] == "green" and case["step_overdue"] is False and case["step_due_at"] is not None
        assert await sweep_all(clients) == 0
        now[0] += dt.timedelta(minutes=13)  # 80 % of the fixture's 15 minutes
        case = await read(clients[1], tokens, waiting["case_id"])
        assert case["light"] == "yellow"
        now[0] += dt.timedelta(minutes=3)
        assert await sweep_all(clients) == 2, "each case once, whatever the workers"
        assert await sweep_all(clients) == 0
        assert await step_events(db, waiting["case_id"]) == ["accept"]
        assert await step_events(db, pending["case_id"]) == ["dispatch"]
        case = await read(clients[1], tokens, waiting["case_id"])
        assert case["light"] == "red" and case["step_overdue"] is True
        features = await (await clients[0].get("/api/v1/map/cases", headers=bearer(tokens["viewer"]))).json()
        [feature] = [f for f in features["features"] if f["id"] == waiting["case_id"]]
        assert feature["properties"]["light"] == "red" and feature["properties"]["step_due_at"] is not None
        # filed at last, to the dispatcher (outside the grid): a new step starts, with its own limit
        moved = report("construction_dust", (FAR_AWAY[0] + 0.01, FAR_AWAY[1]), source="leader")  # not a duplicate
        late = await post(clients[0], tokens["receiver"], moved)
        now[0] += dt.timedelta(minutes=20)
        await sweep_all(clients)
        filed = await clients[0].post(
            f"/api/v1/cases/{late['case_id']}/file", json={}, headers=bearer(tokens["receiver"])
        )
        assert (await filed.json())["status"] == "pending_dispatch"
        now[0] += dt.timedelta(minutes=16)
        assert await sweep_all(clients) == 1
        assert await step_events(db, late["case_id"]) == ["accept", "dispatch"]


async def test_a_dispatched_case_has_no_step_clock(client, tokens):
    created = await client.post("/api/v1/reports", json=report("exposed_garbage"), headers=bearer(tokens["inspector"]))
    case = await read(client, tokens, (await created.json())["case_id"])
    assert case["status"] == "dispatched" and case["step_due_at"] is None and case["step_overdue"] is False

"""Check tasks (SPEC §10): who is sent, the caller's list, completing a check and what it does."""

import asyncio
import datetime as dt
import uuid

import pytest

from grid_service import keys
from grid_service.app import utc_now
from tests.api.helpers import IN_CELL_1, IN_CELL_2, followed, png, report, upload_photo
from tests.api.test_deadline_watch import workers
from tests.conftest import bearer, load_config_with, named_tokens

# Cell 230108001001001 is insp-a's; its community (…001001) also insp-b's; street 002 nobody's.
INSPECTORS = """
[[inspector]]
name = "insp-a"
grids = ["230108001001001"]

[[inspector]]
name = "insp-b"
grids = ["230108001001"]
"""
NOBODYS = (126.605, 45.6075)  # a cell of street 230108002: no inspector answers for it
NEAR_CELL_1 = (IN_CELL_1[0] + 0.0005, IN_CELL_1[1])  # about 39 m east


@pytest.fixture
async def people(db, tmp_path):
    """The fixture configuration with inspectors.toml (and a sensor source filed automatically after
    its check), and a token for each person by name."""
    await load_config_with(
        db,
        tmp_path / "config",
        {
            "inspectors.toml": INSPECTORS,
            "labels.toml": 'check_report = "核实"\ncheck_result = "核查"\n',
            "filing.toml": '[source.sensor]\npolicy = "auto"\ncheck_first = true\n',
        },
    )
    return await named_tokens(
        db,
        [
            ("insp-a", "inspector", None),
            ("insp-b", "inspector", None),
            ("insp-z", "inspector", None),
            ("camera", "channel", "sensor"),
        ],
    )


@pytest.fixture
async def apps(db_url, people):
    async with workers(db_url, utc_now, count=2) as clients:
        yield clients


async def public_report(client, tokens, point=IN_CELL_1, category="construction_dust"):
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["channel"]))
    body = await response.json()
    assert response.status == 201 and body["status"] == "reported", body
    return body


async def tasks_of(client, token, **params):
    response = await client.get("/api/v1/tasks", params={k: str(v) for k, v in params.items()}, headers=bearer(token))
    body = await response.json()
    assert response.status == 200, body
    return body


async def complete(client, token, task_id, outcome, *, point=NEAR_CELL_1, photo=True):
    media = [await upload_photo(client, token)] if photo else []
    body = {"outcome": outcome, "media": media, "location": {"type": "Point", "coordinates": list(point)}}
    response = await client.post(f"/api/v1/tasks/{task_id}/complete", json=body, headers=bearer(token))
    return response.status, (await response.json() if response.status != 204 else None)


async def case_of(client, tokens, case_id):
    return await (await client.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))).json()


async def test_a_public_report_is_checked_first_by_the_inspector_of_its_cell(apps, tokens, people):
    ack = await public_report(apps[0], tokens)
    [task] = (await tasks_of(apps[1], people["insp-a"]))["tasks"]
    assert (task["kind"], task["label"], task["status"], task["assigned_to"]) == (
        "check_report",
        "核实",
        "open",
        "insp-a",
    )
    assert task["case_id"] == ack["case_id"] and task["case_no"] == ack["case_no"]
    assert (await tasks_of(apps[0], people["insp-b"]))["tasks"] == []
    # another inspector may not complete it; its own does, on the spot
    assert (await complete(apps[0], people["insp-b"], task["id"], "confirmed"))[0] == 403
    assert (await complete(apps[1], people["insp-a"], task["id"], "confirmed")) == (204, None)
    case = await case_of(apps[0], tokens, ack["case_id"])
    assert case["status"] == "reported", "back to the receiver, who files it"
    assert [e["type"] for e in case["history"]] == ["case.created", "case.check_requested", "case.check_completed"]
    status, answer = await complete(apps[1], people["insp-a"], task["id"], "confirmed")
    assert status == 409 and answer["error"]["code"] == "task_not_open"


async def test_a_check_too_far_from_the_case_is_refused_and_changes_nothing(apps, tokens, people, db):
    ack = await public_report(apps[0], tokens)
    [task] = (await tasks_of(apps[0], people["insp-a"]))["tasks"]
    status, answer = await complete(
        apps[0], people["insp-a"], task["id"], "not_found", point=(IN_CELL_1[0] + 0.01, IN_CELL_1[1])
    )
    assert status == 422 and answer["error"]["code"] == "too_far", answer
    assert answer["error"]["details"][0]["path"] == ["location"]
    assert await db.fetchval("SELECT status FROM tasks WHERE id = $1", uuid.UUID(task["id"])) == "open"
    assert await db.fetchval("SELECT status FROM cases WHERE id = $1", uuid.UUID(ack["case_id"])) == "reported"


@pytest.mark.parametrize(
    ("outcome", "photo", "path"),
    [("passed", True, ["outcome"]), ("confirmed", False, ["media"]), ("maybe", True, ["outcome"])],
)
async def test_a_wrong_outcome_or_no_photo_is_422(apps, tokens, people, outcome, photo, path):
    await public_report(apps[0], tokens)
    [task] = (await tasks_of(apps[0], people["insp-a"]))["tasks"]
    status, answer = await complete(apps[0], people["insp-a"], task["id"], outcome, photo=photo)
    assert status == 422 and answer["error"]["details"][0]["path"] == path, answer


async def test_a_report_not_found_on_the_spot_is_voided(apps, tokens, people):
    ack = await public_report(apps[0], tokens)
    [task] = (await tasks_of(apps[0], people["insp-a"]))["tasks"]
    assert (await complete(apps[0], people["insp-a"], task["id"], "not_found"))[0] == 204
    case = await case_of(apps[0], tokens, ack["case_id"])
    assert case["status"] == "voided" and case["history"][-1]["data"]["reason"] == "not_found"


async def test_a_confirmed_sensor_report_is_filed_at_once(apps, tokens, people):
    response = await apps[0].post("/api/v1/reports", json=report("construction_dust"), headers=bearer(people["camera"]))
    ack = await response.json()
    assert ack["status"] == "reported"
    [task] = (await tasks_of(apps[0], people["insp-a"]))["tasks"]
    assert (await complete(apps[0], people["insp-a"], task["id"], "confirmed"))[0] == 204
    case = await case_of(apps[0], tokens, ack["case_id"])
    assert case["status"] == "dispatched" and case["source"] == "sensor"
    assert [e["type"] for e in case["history"]][-3:] == ["case.check_completed", "case.filed", "case.dispatched"]


async def test_a_resolved_case_is_checked_by_its_inspector_and_only_they_verify_it(apps, tokens, people):
    created = await apps[0].post("/api/v1/reports", json=report("exposed_garbage"), headers=bearer(tokens["inspector"]))
    case_id = (await created.json())["case_id"]
    for action in ("accept", "resolve"):
        response = await apps[0].post(
            f"/api/v1/cases/{case_id}/{action}", json={}, headers=bearer(tokens["department"])
        )
        assert response.status == 200, await response.text()
    [task] = (await tasks_of(apps[1], people["insp-a"], status="open"))["tasks"]
    assert (task["kind"], task["label"]) == ("check_result", "核查")
    refused = await apps[0].post(
        f"/api/v1/cases/{case_id}/verify", json={"passed": True}, headers=bearer(people["insp-b"])
    )
    assert refused.status == 403
    assert (await complete(apps[1], people["insp-a"], task["id"], "failed"))[0] == 204
    assert (await case_of(apps[0], tokens, case_id))["status"] == "in_progress"
    # resolved again: a new check; verify (the old way) answers it for its inspector
    await apps[0].post(f"/api/v1/cases/{case_id}/resolve", json={}, headers=bearer(tokens["department"]))
    verified = await apps[0].post(
        f"/api/v1/cases/{case_id}/verify", json={"passed": True}, headers=bearer(people["insp-a"])
    )
    assert verified.status == 200 and (await verified.json())["status"] == "closed"
    done = (await tasks_of(apps[0], people["insp-a"], status="done"))["tasks"]
    assert sorted(t["outcome"] for t in done) == ["failed", "passed"]


async def test_a_receiver_requests_a_check_once(apps, tokens, people):
    body = report("construction_dust", IN_CELL_2, source="leader")
    case_id = (await (await apps[0].post("/api/v1/reports", json=body, headers=bearer(tokens["receiver"]))).json())[
        "case_id"
    ]
    path = f"/api/v1/cases/{case_id}/request-check"
    first = await apps[0].post(path, json={"note": "请核实"}, headers=bearer(tokens["receiver"]))
    assert first.status == 200, await first.text()
    again = await apps[1].post(path, json={}, headers=bearer(tokens["receiver"]))
    assert again.status == 409 and (await again.json())["error"]["code"] == "task_open"
    [task] = (await tasks_of(apps[0], people["insp-b"]))["tasks"]  # cell 002: insp-b answers for the community
    assert task["assigned_to"] == "insp-b"


async def test_a_check_nobody_answers_for_waits_in_the_receivers_queue_and_anyone_may_do_it(apps, tokens, people):
    ack = await public_report(apps[0], tokens, point=NOBODYS)
    [task] = (await tasks_of(apps[0], tokens["receiver"]))["tasks"]
    assert task["assigned_to"] is None and task["case_id"] == ack["case_id"]
    # every inspector sees it, and any of them may do it
    assert [t["id"] for t in (await tasks_of(apps[0], people["insp-a"]))["tasks"]] == [task["id"]]
    assert (await complete(apps[0], people["insp-z"], task["id"], "confirmed", point=NOBODYS))[0] == 204


async def test_a_waiting_inspector_is_woken_by_a_check_created_on_the_other_worker(apps, tokens, people):
    start = await tasks_of(apps[0], people["insp-a"])
    waiting = asyncio.create_task(tasks_of(apps[0], people["insp-a"], after=start["cursor"], wait=10))
    tracker = apps[0].server.app[keys.TRACKER]
    for _ in range(500):  # until the long-poll is parked on the tracker (not a guess of how long that takes)
        if tracker.waiters:
            break
        await asyncio.sleep(0.01)
    assert tracker.waiters, "the long-poll never parked"
    ack = await public_report(apps[1], tokens)
    woken = await asyncio.wait_for(waiting, 5)
    assert [t["case_id"] for t in woken["tasks"]] == [ack["case_id"]]
    again = await tasks_of(apps[0], people["insp-a"], after=woken["cursor"])
    assert again["tasks"] == [], "never repeated"


async def test_two_people_completing_one_check_at_once_one_wins(apps, tokens, people):
    for _ in range(4):
        await public_report(apps[0], tokens, category="exposed_garbage")  # never a duplicate
        [task] = [t for t in (await tasks_of(apps[0], people["insp-a"], status="open"))["tasks"]]
        results = await asyncio.gather(
            complete(apps[0], people["insp-a"], task["id"], "confirmed"),
            complete(apps[1], tokens["shift_lead"], task["id"], "not_found"),
        )
        assert sorted(status for status, _ in results) == [204, 409]


async def test_an_overdue_check_is_given_once_to_another_inspector_of_the_community(db_url, db, tokens, people):
    now = [utc_now()]
    async with workers(db_url, lambda: now[0], count=2) as clients:
        ack = await public_report(clients[0], tokens)
        start_b = await tasks_of(clients[0], people["insp-b"])
        [task] = (await tasks_of(clients[0], people["insp-a"]))["tasks"]
        now[0] += dt.timedelta(minutes=31)  # the fixture's task limit is 30 natural minutes
        sweeps = await asyncio.gather(*(c.server.app[keys.WATCH].sweep() for c in clients for _ in range(2)))
        assert sum(s.reassigned for s in sweeps) == 1, "once, whatever the workers"
        [moved] = (await tasks_of(clients[1], people["insp-b"], after=start_b["cursor"]))["tasks"]
        assert moved["id"] == task["id"] and moved["assigned_to"] == "insp-b" and moved["reassigned"] is True
        now[0] += dt.timedelta(hours=2)
        assert sum(s.reassigned for s in [await clients[0].server.app[keys.WATCH].sweep()]) == 0, "only once"
    events = await db.fetch(
        "SELECT data FROM events WHERE case_id = $1 AND type = 'case.check_reassigned'", uuid.UUID(ack["case_id"])
    )
    assert [(e["data"]["previous_assigned_to"], e["data"]["assigned_to"]) for e in events] == [("insp-a", "insp-b")]


async def test_the_case_the_map_and_open311_say_a_check_is_out_in_the_citys_words(apps, tokens, people):
    ack = await public_report(apps[0], tokens)
    case = await case_of(apps[0], tokens, ack["case_id"])
    [check] = case["checks"]
    assert (check["label"], check["status"], check["assigned_to"]) == ("核实", "open", "insp-a")
    [request] = await (await apps[0].get(f"/open311/v2/requests/{ack['case_no']}.json")).json()
    assert request["status_notes"] == "reported · 核实中"
    shown = await (await apps[0].get("/api/v1/map/cases", headers=bearer(tokens["viewer"]))).json()
    [feature] = [f for f in shown["features"] if f["id"] == ack["case_id"]]
    assert feature["properties"]["check"] == {
        "kind": "check_report",
        "label": "核实",
        "assigned_to": "insp-a",
        "due_at": check["due_at"],
        "overdue": False,
    }
    settings = await (await apps[0].get("/map/settings.json")).json()
    assert settings["labels"] == {"check_report": "核实", "check_result": "核查"}


async def test_two_inspectors_completing_a_check_nobody_answers_for_one_wins(apps, tokens, people):
    for n in range(3):
        point = (NOBODYS[0] + n * 0.001, NOBODYS[1])
        ack = await public_report(apps[0], tokens, point=point, category="exposed_garbage")
        listed = (await tasks_of(apps[0], tokens["receiver"], status="open"))["tasks"]
        [task] = [t for t in listed if t["case_id"] == ack["case_id"]]
        results = await asyncio.gather(
            complete(apps[0], people["insp-a"], task["id"], "confirmed", point=point),
            complete(apps[1], people["insp-z"], task["id"], "not_found", point=point),
        )
        assert sorted(status for status, _ in results) == [204, 409]


async def test_filing_a_report_while_its_check_is_out_ends_the_check(apps, tokens, people, db):
    ack = await public_report(apps[0], tokens, category="exposed_garbage")
    [task] = (await tasks_of(apps[0], people["insp-a"], status="open"))["tasks"]
    filed = await apps[0].post(f"/api/v1/cases/{ack['case_id']}/file", json={}, headers=bearer(tokens["receiver"]))
    assert filed.status == 200 and (await filed.json())["status"] == "dispatched"
    assert await db.fetchval("SELECT status FROM tasks WHERE id = $1", uuid.UUID(task["id"])) == "cancelled"
    status, answer = await complete(apps[1], people["insp-a"], task["id"], "not_found")
    assert status == 409 and answer["error"]["code"] == "task_not_open"
    assert (await case_of(apps[0], tokens, ack["case_id"]))["checks"][0]["status"] == "cancelled"


async def test_a_reassigned_check_gets_its_whole_limit_again(db_url, db, tokens, people):
    now = [utc_now()]
    async with workers(db_url, lambda: now[0], count=1) as [client]:
        await public_report(client, tokens)
        [task] = (await tasks_of(client, people["insp-a"]))["tasks"]
        now[0] += dt.timedelta(minutes=31)
        assert (await client.server.app[keys.WATCH].sweep()).reassigned == 1
        moved = await db.fetchval("SELECT due_at FROM tasks WHERE id = $1", uuid.UUID(task["id"]))
        assert moved >= (now[0] + dt.timedelta(minutes=29)), "the new inspector's own 30 minutes"


async def test_an_open_task_has_the_light_of_its_limit(db_url, tokens):
    from tests.api.helpers import Clock
    from tests.api.test_deadline_watch import MONDAY_9, workers

    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as (client,):
        response = await client.post(
            "/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["channel"])
        )  # a citizen's report: checked first, 30 minutes for the check
        assert response.status == 201

        async def the_task():
            page = await (await client.get("/api/v1/tasks", headers=bearer(tokens["receiver"]))).json()
            [task] = page["tasks"]
            return task["light"], task["overdue"]

        assert await the_task() == ("green", False)
        clock.advance(minutes=24)  # 80 % of its 30 minutes
        assert await the_task() == ("yellow", False)
        clock.advance(minutes=6)
        assert await the_task() == ("red", True)


async def test_an_inspectors_account_takes_the_cells_over_from_the_file(db_url, db, tokens, tmp_path):
    """The file names li.lei for cell 1. Accounts made while the service runs take over: li.lei's
    own account, with no cells, ends the file's entry; wang.fang's account for the cell answers for
    it, signs in and completes the check."""
    from tests.api.test_sessions import person, sign_in
    from tests.conftest import make_user

    listed = '[[inspector]]\nname = "li.lei"\ngrids = ["230108001001001"]\n'
    await load_config_with(db, tmp_path / "config", {"inspectors.toml": listed})
    async with workers(db_url, utc_now, count=1, config_poll_s=0.05) as [client]:
        await public_report(client, tokens)
        [first] = (await tasks_of(client, tokens["receiver"]))["tasks"] or [None]
        assert first is None, "the file's li.lei answers for the cell: nothing in the receivers' queue"
        await make_user(db, "li.lei", "inspector")
        await make_user(db, "wang.fang", "inspector", grids=["230108001001001"])
        await followed(client, lambda c: c.inspectors.responsible("230108001001001") == "wang.fang")
        second = (IN_CELL_1[0] + 0.002, IN_CELL_1[1])  # beyond the first report's duplicate radius
        ack = await public_report(client, tokens, point=second)
        response, body = await sign_in(client, "wang.fang")
        reads, writes = person(response, body)
        listed_tasks = await client.get("/api/v1/tasks", params={"status": "open"}, headers=reads)
        [mine] = [t for t in (await listed_tasks.json())["tasks"] if t["case_id"] == ack["case_id"]]
        assert mine["assigned_to"] == "wang.fang"
        photo = await client.post("/api/v1/media", data=png(seed=7), headers={**writes, "Content-Type": "image/png"})
        assert photo.status == 201, await photo.text()
        where = {"type": "Point", "coordinates": list(second)}
        body = {"outcome": "confirmed", "media": [(await photo.json())["id"]], "location": where}
        done = await client.post(f"/api/v1/tasks/{mine['id']}/complete", json=body, headers=writes)
        assert done.status == 204, await done.text()

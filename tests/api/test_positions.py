"""Figures of the people of the loop (SPEC §12: group_by inspector, receiver, dispatcher, source),
from a day built by hand on a clock the test moves, every figure checked by hand."""

import csv
import io

import pytest

from grid_service import keys
from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, Clock, report, upload_photo
from tests.api.test_deadline_watch import MONDAY_9, workers
from tests.conftest import bearer, load_config_with, named_tokens

DAY = {"from": "2026-11-23", "to": "2026-11-24"}
FAR_2 = (FAR_AWAY[0] + 0.01, FAR_AWAY[1])
FAR_3 = (FAR_AWAY[0] + 0.02, FAR_AWAY[1])


@pytest.fixture
async def people(db, tmp_path):
    await load_config_with(
        db,
        tmp_path / "config",
        {
            "inspectors.toml": '[[inspector]]\nname = "insp-a"\ngrids = ["230108001001"]\n',
            "labels.toml": 'check_report = "核实"\ncheck_result = "复核"\n',
            # an inspector's construction dust waits for a receiver, so that one can be voided
            "filing.toml": '[[override]]\nsource = "inspector"\ncategory = "construction_dust"\npolicy = "review"\n',
        },
    )
    return await named_tokens(
        db,
        [
            ("insp-a", "inspector", None),
            ("rec-1", "receiver", None),
            ("disp-1", "dispatcher", None),
            ("citizens", "channel", "public"),
        ],
    )


@pytest.fixture
async def day(db_url, tokens, people):
    """Monday, with the fixture's limits (上报→受理 and 立案→派遣 15 minutes, checks 30):

    insp-a  09:00 r1 exposed garbage in its community, filed at once        valid
            09:00 r2 barbecue handled on the spot                           valid, self-handled
            09:00 r3 construction dust (waits: review); voided 09:05        not valid
            09:00 r4 construction dust outside the grid; filed 09:05        valid
            09:10 checks a citizen's report (opened 09:00, due 09:30)       on time
            10:00 checks r1's resolution (opened 09:20, due 09:50)          late
    rec-1   voids r3 and files r4 at 09:05 (on time); registers a leader's report L at 09:00 and
            files it at 09:40, after the 09:30 sweep recorded it over 上报→受理
    disp-1  dispatches X (outside the grid, pending since 09:00) at 09:05 (on time), which the
            department rejects at 09:10; dispatches r4 (pending since 09:05) at 09:35, after the
            09:30 sweep recorded it over 立案→派遣 (late)
    """
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        insp, rec, disp = bearer(people["insp-a"]), bearer(people["rec-1"]), bearer(people["disp-1"])
        clerk = bearer(tokens["department"])

        async def at(hour, minute, path, headers, body=None):
            clock.now = MONDAY_9.replace(hour=hour, minute=minute)
            response = await client.post(path, json=body if body is not None else {}, headers=headers)
            assert response.status in (200, 201, 204), await response.text()
            return await response.json() if response.status != 204 else None

        async def check(hour, minute, kind, outcome):
            listed = await client.get("/api/v1/tasks", params={"status": "open"}, headers=insp)
            task = next(t for t in (await listed.json())["tasks"] if t["kind"] == kind)
            photo = await upload_photo(client, people["insp-a"])
            point = {"type": "Point", "coordinates": list(IN_CELL_2 if kind == "check_report" else IN_CELL_1)}
            body = {"outcome": outcome, "media": [photo], "location": point}
            await at(hour, minute, f"/api/v1/tasks/{task['id']}/complete", insp, body)

        r1 = await at(9, 0, "/api/v1/reports", insp, report("exposed_garbage", IN_CELL_1))
        before, after = await upload_photo(client, people["insp-a"]), await upload_photo(client, people["insp-a"])
        handled = report("outdoor_barbecue", IN_CELL_2, self_handled=True, media=[before], after_media=[after])
        await at(9, 0, "/api/v1/reports", insp, handled)
        r3 = await at(9, 0, "/api/v1/reports", insp, report("construction_dust", IN_CELL_1))
        r4 = await at(9, 0, "/api/v1/reports", insp, report("construction_dust", FAR_3))
        await at(9, 0, "/api/v1/reports", bearer(people["citizens"]), report("exposed_garbage", IN_CELL_2))
        leader = await at(9, 0, "/api/v1/reports", rec, report("exposed_garbage", FAR_AWAY, source="leader"))
        x = await at(9, 0, "/api/v1/reports", bearer(tokens["inspector"]), report("exposed_garbage", FAR_2))
        assert (r3["status"], r4["status"], x["status"]) == ("reported", "reported", "pending_dispatch")
        await at(9, 5, f"/api/v1/cases/{r3['case_id']}/void", rec, {"reason": "invalid"})
        await at(9, 5, f"/api/v1/cases/{r4['case_id']}/file", rec)
        await at(9, 5, f"/api/v1/cases/{x['case_id']}/dispatch", disp, {"department": "urban_management"})
        await at(9, 10, f"/api/v1/cases/{x['case_id']}/reject", clerk, {"reason": "other", "note": "非本部门"})
        await check(9, 10, "check_report", "confirmed")
        await at(9, 15, f"/api/v1/cases/{r1['case_id']}/accept", clerk)
        await at(9, 20, f"/api/v1/cases/{r1['case_id']}/resolve", clerk)
        clock.now = MONDAY_9.replace(hour=9, minute=30)
        assert (await client.server.app[keys.WATCH].sweep()).steps == 4  # L, the citizen's; r4, X
        await at(9, 35, f"/api/v1/cases/{r4['case_id']}/dispatch", disp, {"department": "urban_management"})
        await at(9, 40, f"/api/v1/cases/{leader['case_id']}/file", rec)
        await check(10, 0, "check_result", "passed")
        yield client


async def figures(client, tokens, group_by):
    params = {**DAY, "group_by": group_by}
    response = await client.get("/api/v1/stats", params=params, headers=bearer(tokens["viewer"]))
    assert response.status == 200, await response.text()
    return response


async def test_inspector_figures_match_the_hand_count(day, tokens):
    body = await (await figures(day, tokens, "inspector")).json()
    [insp] = [g for g in body["groups"] if g["key"] == "insp-a"]
    assert insp == {
        "key": "insp-a",
        "name": "insp-a",
        "reported": 4,
        "valid": 3,
        "valid_rate": 0.75,
        "check_report_done": 1,
        "check_report_on_time_rate": 1.0,
        "check_result_done": 1,
        "check_result_on_time_rate": 0.0,
        "self_handled": 1,
    }
    assert body["headings"]["check_result_on_time_rate"] == "按时复核率", "the city's word for the check"


async def test_receiver_and_dispatcher_figures_match_the_hand_count(day, tokens):
    receivers = (await (await figures(day, tokens, "receiver")).json())["groups"]
    assert receivers == [{"key": "rec-1", "name": "rec-1", "accepted": 3, "filed": 2, "filed_on_time_rate": 0.5}]
    dispatchers = (await (await figures(day, tokens, "dispatcher")).json())["groups"]
    assert dispatchers == [
        # its dispatch was returned, but no ruling blamed the dispatcher: still accurate
        {"key": "disp-1", "name": "disp-1", "dispatched": 2, "dispatched_on_time_rate": 0.5, "dispatch_accuracy": 1.0}
    ]


async def test_figures_by_source_count_each_source(day, tokens):
    groups = (await (await figures(day, tokens, "source")).json())["groups"]
    assert {g["key"]: g["reported"] for g in groups} == {"inspector": 5, "public": 1, "leader": 1}


async def test_position_figures_as_csv_carry_the_headings_a_person_reads(day, tokens):
    text = await (
        await day.get(
            "/api/v1/stats",
            params={**DAY, "group_by": "receiver"},
            headers={**bearer(tokens["viewer"]), "Accept": "text/csv"},
        )
    ).text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["key", "name", "accepted", "filed", "filed_on_time_rate"]
    assert rows[1] == ["受理员", "姓名", "受理数", "立案数", "按时立案率"]
    assert rows[2] == ["rec-1", "rec-1", "3", "2", "0.5"]

"""Disputes around the deadline (SPEC §11): returns and arbitration, extensions, suspensions, 督办,
the sign-for limit and appeals, each through the HTTP API on a clock the test moves."""

import asyncio
import datetime as dt

import pytest

from grid_service import keys
from tests.api.helpers import IN_CELL_1, IN_CELL_2, Clock, report
from tests.api.test_deadline_watch import MONDAY_9, SHANGHAI, workers
from tests.conftest import bearer

FRIDAY_16 = dt.datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)


def spot(n: int) -> tuple[float, float]:
    """The n-th of a row of points in cell 1, each farther than a duplicate's radius from the last."""
    return (126.6012 + 0.0011 * n, 45.6025)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def created(client, tokens, category="outdoor_barbecue", point=IN_CELL_1):
    """An inspector's report, filed at once and dispatched to urban_management."""
    response = await client.post("/api/v1/reports", json=report(category, point), headers=bearer(tokens["inspector"]))
    body = await response.json()
    assert response.status == 201 and body["department"]["code"] == "urban_management", body
    return body["case_id"]


async def act(client, token, case_id, action, body=None):
    response = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body or {}, headers=bearer(token))
    return response.status, await response.json()


async def ok(client, token, case_id, action, body=None):
    status, answer = await act(client, token, case_id, action, body)
    assert status == 200, (action, answer)
    return answer


def at(case, field):
    return dt.datetime.fromisoformat(case[field]) if case[field] else None


def types(case):
    return [e["type"] for e in case["history"]]


async def sweep_all(apps):
    """The watches of every worker at once, then one more: under contention a sweep skips a row
    another worker's statement holds (SKIP LOCKED), and the next records it."""
    sweeps = list(await asyncio.gather(*(a.server.app[keys.WATCH].sweep() for a in apps)))
    return [*sweeps, await apps[0].server.app[keys.WATCH].sweep()]


async def events_of(db, case_id, kind):
    return await db.fetch("SELECT data FROM events WHERE case_id = $1::uuid AND type = $2 ORDER BY seq", case_id, kind)


@pytest.fixture
async def clock():
    return Clock(MONDAY_9)


@pytest.fixture
async def app(db_url, clock):
    async with workers(db_url, clock, count=1) as (client,):
        yield client


RETURN = {"reason": "not_our_responsibility", "note": "不属本部门"}


async def test_a_case_returned_once_too_often_goes_to_arbitration_and_the_ruling_binds(app, tokens, db):
    case_id = await created(app, tokens)
    first = await ok(app, tokens["department"], case_id, "reject", RETURN)
    assert (first["status"], first["returns"]) == ("pending_dispatch", 1)
    await ok(app, tokens["dispatcher"], case_id, "dispatch", {"department": "urban_management"})
    second = await ok(app, tokens["department"], case_id, "reject", RETURN)
    assert (second["status"], second["pending_reason"], second["department"]) == ("arbitration", None, None)
    assert second["history"][-1]["data"]["arbitration"] is True
    # The dispatcher may no longer dispatch it; the shift lead rules.
    status, answer = await act(app, tokens["dispatcher"], case_id, "dispatch", {"department": "street_office"})
    assert status == 409 and answer["error"]["details"] == [{"current_status": "arbitration"}]
    status, _ = await act(
        app, tokens["dispatcher"], case_id, "rule", {"department": "urban_management", "fault": "none", "note": "x"}
    )
    assert status == 403
    status, answer = await act(
        app, tokens["shift_lead"], case_id, "rule", {"department": "nowhere", "fault": "none", "note": "x"}
    )
    assert status == 422 and answer["error"]["details"][0]["path"] == ["department"]
    ruling = {"department": "urban_management", "fault": "dispatcher", "note": "属城管职责"}
    ruled = await ok(app, tokens["shift_lead"], case_id, "rule", ruling)
    assert (ruled["status"], ruled["department"]["code"], ruled["ruled_department"]) == (
        "dispatched",
        "urban_management",
        "urban_management",
    )
    assert at(ruled, "deadline_at") == MONDAY_9 + dt.timedelta(hours=2), "a fresh deadline from the ruling"
    assert types(ruled)[-2:] == ["case.ruled", "case.dispatched"]
    assert ruled["history"][-2]["data"]["fault"] == "dispatcher"
    assert ruled["history"][-2]["data"]["dispatcher"] == "dispatcher:" + (
        await db.fetchval("SELECT name FROM api_tokens WHERE role = 'dispatcher'")
    )
    status, answer = await act(app, tokens["department"], case_id, "reject", RETURN)
    assert status == 409 and answer["error"]["code"] == "ruling_binding"
    assert len(await events_of(db, case_id, "case.rejected")) == 2, "the refused return wrote nothing"


async def test_a_return_says_why(app, tokens):
    case_id = await created(app, tokens)
    status, answer = await act(app, tokens["department"], case_id, "reject", {"reason": "other"})
    assert status == 422 and answer["error"]["details"][0]["path"] == ["note"]


async def test_an_extension_adds_one_original_limit_and_a_second_is_the_shift_leads(app, tokens, db, clock):
    case_id = await created(app, tokens)  # outdoor_barbecue: 2 natural hours, due 11:00
    asked = await ok(app, tokens["department"], case_id, "extension", {"reason": "需协调产权单位"})
    assert asked["open_request"]["kind"] == "extension" and asked["deadline_at"] == asked["original_deadline_at"]
    status, answer = await act(app, tokens["department"], case_id, "extension", {"reason": "again"})
    assert status == 409 and answer["error"]["code"] == "request_open"
    status, _ = await act(app, tokens["department"], case_id, "extension/decide", {"approve": True})
    assert status == 403, "a department does not decide its own request"
    approved = await ok(app, tokens["dispatcher"], case_id, "extension/decide", {"approve": True, "note": "同意"})
    assert at(approved, "deadline_at") == local("2026-11-23 13:00") and approved["open_request"] is None
    assert at(approved, "original_deadline_at") == local("2026-11-23 11:00"), "the first deadline is kept"
    assert approved["extensions"] == 1
    await ok(app, tokens["department"], case_id, "extension", {"reason": "仍需时间"})
    status, answer = await act(app, tokens["dispatcher"], case_id, "extension/decide", {"approve": True})
    assert status == 403, "a second extension is the shift lead's"
    second = await ok(app, tokens["shift_lead"], case_id, "extension/decide", {"approve": True})
    assert at(second, "deadline_at") == local("2026-11-23 15:00")
    assert at(second, "original_deadline_at") == local("2026-11-23 11:00")
    status, answer = await act(app, tokens["department"], case_id, "extension", {"reason": "third"})
    assert status == 409 and answer["error"]["code"] == "extension_limit"
    decided = await events_of(db, case_id, "case.extension_decided")
    assert [d["data"]["hours"] for d in decided] == [2.0, 2.0]
    # Refused: nothing moves. Past the deadline: too late to ask.
    other = await created(app, tokens, point=IN_CELL_2)
    await ok(app, tokens["department"], other, "extension", {"reason": "x", "hours": 1})
    refused = await ok(app, tokens["dispatcher"], other, "extension/decide", {"approve": False})
    assert at(refused, "deadline_at") == local("2026-11-23 11:00") and refused["extensions"] == 0
    status, answer = await act(app, tokens["dispatcher"], other, "extension/decide", {"approve": True})
    assert status == 409 and answer["error"]["code"] == "no_request"
    clock.advance(hours=3)
    status, answer = await act(app, tokens["department"], other, "extension", {"reason": "late"})
    assert status == 409 and answer["error"]["code"] == "deadline_passed"


async def test_the_light_and_warn_at_follow_an_extension_and_a_resume(app, tokens, clock):
    """Yellow from 80 % of the time from dispatch to the deadline in force: 2 natural hours from
    09:00 turn yellow at 10:36; one more limit (due 13:00) makes it green until 12:12; an hour's
    suspension (due 14:00) until 13:00."""
    case_id = await created(app, tokens)

    async def light():
        """The case's light, and its warn_at and deadline as the map has them."""
        case = await (await app.get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))).json()
        shown = await (await app.get("/api/v1/map/cases", headers=bearer(tokens["viewer"]))).json(content_type=None)
        [marker] = [f["properties"] for f in shown["features"] if f["id"] == case_id]
        assert marker["light"] == case["light"] and marker["deadline_at"] == case["deadline_at"]
        return case["light"], at(marker, "warn_at"), at(case, "deadline_at")

    clock.advance(minutes=100)  # 10:40
    assert await light() == ("yellow", local("2026-11-23 10:36"), local("2026-11-23 11:00"))
    await ok(app, tokens["department"], case_id, "extension", {"reason": "需协调"})
    await ok(app, tokens["dispatcher"], case_id, "extension/decide", {"approve": True})
    assert await light() == ("green", local("2026-11-23 12:12"), local("2026-11-23 13:00"))
    until = local("2026-11-23 18:00").isoformat()
    await ok(app, tokens["department"], case_id, "suspension", {"until": until, "reason": "legal", "note": "x"})
    await ok(app, tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
    assert (await light())[0] == "suspended"
    clock.advance(hours=1)  # 11:40
    await ok(app, tokens["department"], case_id, "resume")
    assert await light() == ("green", local("2026-11-23 13:00"), local("2026-11-23 14:00"))
    clock.advance(minutes=81)  # 13:01
    assert (await light())[0] == "yellow"
    clock.advance(minutes=59)  # 14:00
    assert (await light())[0] == "red"


@pytest.mark.parametrize("hours", [0, -1, 24 * 367])
async def test_an_extension_of_no_time_or_too_much_is_422(app, tokens, hours):
    case_id = await created(app, tokens)
    status, answer = await act(app, tokens["department"], case_id, "extension", {"reason": "x", "hours": hours})
    assert status == 422 and answer["error"]["details"][0]["path"] == ["hours"]


async def test_a_suspension_over_a_weekend_and_a_holiday_moves_the_deadline_by_its_working_hours(
    app, tokens, db, clock
):
    clock.now = FRIDAY_16
    case_id = await created(app, tokens, "illegal_construction")  # 37.5 working hours (demolish)
    case = await ok(app, tokens["department"], case_id, "accept")
    # Fri 1.5 h, Mon 7.5, Tue 1 Dec a holiday, Wed, Thu, Fri 7.5 each, Sat 5 Dec a working day: 6 h.
    assert at(case, "deadline_at") == local("2026-12-05 16:00")
    clock.advance(minutes=30)  # Friday 16:30
    for until in ("2026-11-27T08:00:00+08:00", "2027-12-01T00:00:00+08:00"):  # past; more than a year away
        status, answer = await act(
            app, tokens["department"], case_id, "suspension", {"until": until, "reason": "season", "note": "x"}
        )
        assert status == 422 and answer["error"]["details"][0]["path"] == ["until"], until
    body = {"until": "2026-12-10T09:00:00+08:00", "reason": "season", "note": "冬季停工"}
    await ok(app, tokens["department"], case_id, "suspension", body)
    status, _ = await act(app, tokens["dispatcher"], case_id, "suspension/decide", {"approve": True})
    assert status == 403, "the shift lead decides a suspension"
    suspended = await ok(app, tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
    assert (suspended["status"], suspended["light"]) == ("suspended", "suspended")
    assert at(suspended, "suspended_until") == local("2026-12-10 09:00")
    for action, payload in (("resolve", {}), ("reject", RETURN), ("extension", {"reason": "x"})):
        status, answer = await act(app, tokens["department"], case_id, action, payload)
        assert status == 409 and answer["error"]["details"] == [{"current_status": "suspended"}], action
    clock.now = local("2026-12-02 09:30")  # Wednesday: Friday's last hour, Monday, Wednesday's first
    resumed = await ok(app, tokens["department"], case_id, "resume", {"note": "复工"})
    assert resumed["status"] == "in_progress", "back to where it was"
    # 9.5 working hours after Sat 5 Dec 16:00: Sat 1.5, Mon 7 Dec 7.5, Tue 8 Dec half an hour.
    assert at(resumed, "deadline_at") == local("2026-12-08 09:00")
    assert at(resumed, "original_deadline_at") == local("2026-12-05 16:00")
    [resume] = await events_of(db, case_id, "case.resumed")
    assert resume["data"]["paused_hours"] == 9.5 and resume["data"]["by_watch"] is False
    status, answer = await act(app, tokens["department"], case_id, "suspension", body)
    assert status == 409 and answer["error"]["code"] == "suspension_limit"
    status, answer = await act(app, tokens["department"], case_id, "resume")
    assert status == 409


async def test_the_watch_resumes_suspensions_at_their_until_once_across_three_workers(db_url, tokens, db):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=3) as apps:
        cases = [await created(apps[0], tokens, point=spot(n)) for n in range(3)]
        for case_id in cases:
            until = (MONDAY_9 + dt.timedelta(hours=1)).isoformat()
            await ok(
                apps[0], tokens["department"], case_id, "suspension", {"until": until, "reason": "funding", "note": "x"}
            )
            await ok(apps[1], tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
        clock.advance(minutes=30)
        assert sum(s.resumed for s in await sweep_all(apps)) == 0, "not before their until"
        clock.advance(minutes=45)  # 10:15: each was paused 75 natural minutes
        assert sum(s.resumed for s in await sweep_all(apps)) == 3
        for case_id in cases:
            [resume] = await events_of(db, case_id, "case.resumed")
            assert resume["data"]["by_watch"] is True
            case = await (await apps[2].get(f"/api/v1/cases/{case_id}", headers=bearer(tokens["viewer"]))).json()
            # It resumed at its until (10:00), not at the sweep (10:15): paused one hour.
            assert case["status"] == "dispatched" and at(case, "deadline_at") == local("2026-11-23 12:00")
            assert case["history"][-1]["at"].startswith("2026-11-23T10:00"), "the instant it resumed"
            assert case["history"][-1]["data"]["paused_hours"] == 1.0
            assert case["history"][-1]["actor"] == "clock"
        assert sum(s.resumed for s in await sweep_all(apps)) == 0


async def test_resumes_due_in_many_batches_are_each_written_once_in_one_sweep(db_url, tokens, db, monkeypatch):
    """Batches of two follow one another by (until, id), the next read while the one before is
    written: two cases share an until, and two workers sweep at once."""
    from grid_service.live import deadline_watch

    monkeypatch.setattr(deadline_watch, "RESUME_BATCH", 2)
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=2) as apps:
        cases = [await created(apps[0], tokens, point=spot(n)) for n in range(5)]
        for n, case_id in enumerate(cases):
            until = (MONDAY_9 + dt.timedelta(minutes=10 * min(n, 3) + 10)).isoformat()  # two share 10:40
            body = {"until": until, "reason": "legal", "note": "x"}
            await ok(apps[0], tokens["department"], case_id, "suspension", body)
            await ok(apps[1], tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
        clock.advance(hours=2)
        sweeps = await asyncio.gather(*(a.server.app[keys.WATCH].sweep() for a in apps))
        assert sum(s.resumed for s in sweeps) == 5, "every batch, the last short one included, in one pass each"
        for case_id in cases:
            assert len(await events_of(db, case_id, "case.resumed")) == 1
        assert await db.fetchval("SELECT count(*) FROM cases WHERE status = 'suspended'") == 0


async def test_a_resume_keeps_what_the_watch_recorded_of_the_deadline_it_moves(app, tokens, db, clock):
    """Overdue and on the first rung (4 hours past its 11:00 deadline) when suspended at 15:30, a
    barbecue resumed at 16:30 is due at 12:00: exactly as late as when its clock stopped. It is not
    warned, recorded overdue or escalated again; it climbs on from its rung (24 hours: 12:00 the
    next day)."""
    case_id = await created(app, tokens)
    watch = app.server.app[keys.WATCH]
    clock.advance(hours=6, minutes=30)  # 15:30
    first = await watch.sweep()
    assert (first.warnings, first.overdue, first.escalations) == (1, 1, 1)
    until = local("2026-11-24 09:00").isoformat()
    await ok(app, tokens["department"], case_id, "suspension", {"until": until, "reason": "legal", "note": "x"})
    await ok(app, tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
    clock.advance(hours=1)  # 16:30
    resumed = await ok(app, tokens["department"], case_id, "resume")
    assert at(resumed, "deadline_at") == local("2026-11-23 12:00") and resumed["light"] == "red"
    again = await watch.sweep()
    assert (again.warnings, again.overdue, again.escalations) == (0, 0, 0)
    for kind in ("case.warning", "case.overdue", "case.escalated"):
        assert len(await events_of(db, case_id, kind)) == 1, kind
    clock.now = local("2026-11-24 12:00")
    assert (await watch.sweep()).escalations == 1, "the next rung, from the one it stood on"
    [_, second] = await events_of(db, case_id, "case.escalated")
    assert second["data"]["level"] == 2


async def test_a_resume_by_hand_racing_the_watch_is_recorded_once(db_url, tokens, db):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=2) as apps:
        for n in range(5):
            case_id = await created(apps[0], tokens, point=spot(n))
            until = (clock.now + dt.timedelta(minutes=10)).isoformat()
            await ok(
                apps[0], tokens["department"], case_id, "suspension", {"until": until, "reason": "legal", "note": "x"}
            )
            await ok(apps[0], tokens["shift_lead"], case_id, "suspension/decide", {"approve": True})
            clock.advance(minutes=15)
            by_hand, _ = await asyncio.gather(
                act(apps[0], tokens["department"], case_id, "resume"), apps[1].server.app[keys.WATCH].sweep()
            )
            assert by_hand[0] in (200, 409)
            assert len(await events_of(db, case_id, "case.resumed")) == 1
            assert await db.fetchval("SELECT status FROM cases WHERE id = $1::uuid", case_id) == "dispatched"


async def test_two_extension_decisions_and_a_suspension_against_a_resolution_one_wins(db_url, tokens, db):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=2) as apps:
        for n in range(5):
            case_id = await created(apps[0], tokens, point=spot(n))
            await ok(apps[0], tokens["department"], case_id, "extension", {"reason": "x"})
            results = await asyncio.gather(
                act(apps[0], tokens["dispatcher"], case_id, "extension/decide", {"approve": True}),
                act(apps[1], tokens["shift_lead"], case_id, "extension/decide", {"approve": False}),
            )
            assert sorted(s for s, _ in results) == [200, 409]
            assert len(await events_of(db, case_id, "case.extension_decided")) == 1
            # a suspension decided while the department resolves
            await ok(apps[0], tokens["department"], case_id, "accept")
            until = (clock.now + dt.timedelta(days=3)).isoformat()
            await ok(
                apps[0], tokens["department"], case_id, "suspension", {"until": until, "reason": "other", "note": "x"}
            )
            results = await asyncio.gather(
                act(apps[0], tokens["shift_lead"], case_id, "suspension/decide", {"approve": True}),
                act(apps[1], tokens["department"], case_id, "resolve", {}),
            )
            assert sorted(s for s, _ in results) == [200, 409], results
            status = await db.fetchval("SELECT status FROM cases WHERE id = $1::uuid", case_id)
            decided = len(await events_of(db, case_id, "case.suspension_decided"))
            resolved = len(await events_of(db, case_id, "case.resolved"))
            assert (status, decided, resolved) in (("suspended", 1, 0), ("resolved", 0, 1))


async def test_supervision_is_answered_or_its_silence_recorded_once(db_url, tokens, db):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=3) as apps:
        answered, silent = await created(apps[0], tokens), await created(apps[0], tokens, point=IN_CELL_2)
        status, _ = await act(apps[0], tokens["department"], answered, "supervise/reply", {"note": "x"})
        assert status == 409
        body = {"level": "listed", "note": "挂牌督办", "reply_hours": 2}
        status, _ = await act(apps[0], tokens["department"], answered, "supervise", body)
        assert status == 403
        for case_id in (answered, silent):
            case = await ok(apps[0], tokens["shift_lead"], case_id, "supervise", body)
            assert at(case, "supervision_due_at") == local("2026-11-23 11:00")
        clock.advance(hours=1)
        replied = await ok(apps[1], tokens["department"], answered, "supervise/reply", {"note": "已整改"})
        assert replied["supervision_due_at"] is None and replied["history"][-1]["data"]["on_time"] is True
        clock.advance(hours=2)
        assert sum(s.supervision for s in await sweep_all(apps)) == 1
        assert len(await events_of(db, silent, "case.supervision_overdue")) == 1
        assert await events_of(db, answered, "case.supervision_overdue") == []
        assert sum(s.supervision for s in await sweep_all(apps)) == 0


async def test_a_case_not_signed_for_in_time_is_recorded_once_across_three_workers(db_url, tokens, db):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=3) as apps:
        signed, unsigned = await created(apps[0], tokens), await created(apps[0], tokens, point=IN_CELL_2)
        case = await (await apps[0].get(f"/api/v1/cases/{unsigned}", headers=bearer(tokens["viewer"]))).json()
        assert at(case, "accept_due_at") == local("2026-11-23 11:00"), "two working hours to sign for it"
        clock.advance(hours=1)
        await ok(apps[0], tokens["department"], signed, "accept")
        clock.advance(hours=1, minutes=5)
        assert sum(s.acceptance for s in await sweep_all(apps)) == 1
        [late] = await events_of(db, unsigned, "case.acceptance_overdue")
        assert late["data"]["accept_due_at"].startswith("2026-11-23T03:00:00")
        assert await events_of(db, signed, "case.acceptance_overdue") == []


async def closed(app, tokens, clock, *, late: bool, point=IN_CELL_1):
    case_id = await created(app, tokens, point=point)
    await ok(app, tokens["department"], case_id, "accept")
    clock.advance(hours=3 if late else 1)
    await ok(app, tokens["department"], case_id, "resolve")
    await ok(app, tokens["inspector"], case_id, "verify", {"passed": True})
    return case_id


async def test_an_appeal_of_a_late_closure_is_reviewed_by_the_dispatcher_then_decided_by_the_shift_lead(
    app, tokens, db, clock
):
    on_time = await closed(app, tokens, clock, late=False)
    status, answer = await act(app, tokens["department"], on_time, "appeal", {"note": "x"})
    assert status == 422 and answer["error"]["code"] == "closed_on_time"
    late = await closed(app, tokens, clock, late=True, point=IN_CELL_2)
    appealed = await ok(app, tokens["department"], late, "appeal", {"note": "暴雨停工"})
    assert appealed["open_request"]["stage"] == "dispatcher" and appealed["status"] == "closed"
    status, _ = await act(app, tokens["shift_lead"], late, "appeal/review", {"approve": True})
    assert status == 403, "the dispatcher reviews first"
    reviewed = await ok(app, tokens["dispatcher"], late, "appeal/review", {"approve": True})
    assert reviewed["open_request"]["stage"] == "shift_lead"
    status, _ = await act(app, tokens["dispatcher"], late, "appeal/review", {"approve": True})
    assert status == 403, "then the shift lead decides"
    decided = await ok(app, tokens["shift_lead"], late, "appeal/review", {"approve": True, "note": "属实"})
    assert decided["open_request"] is None
    assert [e["data"]["approved"] for e in decided["history"] if e["type"] == "case.appeal_reviewed"] == [False, True]
    status, answer = await act(app, tokens["department"], late, "appeal", {"note": "again"})
    assert status == 409 and answer["error"]["code"] == "appeal_limit"
    # A refusal at the first level is final.
    refused = await closed(app, tokens, clock, late=True)
    await ok(app, tokens["department"], refused, "appeal", {"note": "x"})
    final = await ok(app, tokens["dispatcher"], refused, "appeal/review", {"approve": False})
    assert final["open_request"] is None and final["history"][-1]["data"]["final"] is True


async def test_the_cases_with_an_open_request_are_listed_by_its_kind(app, tokens, clock):
    """Appeals are of closed cases, off the map: the dispatcher and the shift lead list them."""

    async def listed(kind, role="dispatcher"):
        response = await app.get("/api/v1/cases", params={"open_request": kind}, headers=bearer(tokens[role]))
        body = await response.json()
        assert response.status == 200, body
        return [(c["id"], c["open_request"]["stage"] if kind == "appeal" else c["status"]) for c in body["cases"]]

    late = await closed(app, tokens, clock, late=True)
    asking = await created(app, tokens, point=spot(4))
    await ok(app, tokens["department"], asking, "extension", {"reason": "x"})
    await ok(app, tokens["department"], late, "appeal", {"note": "暴雨"})
    assert await listed("appeal") == [(late, "dispatcher")]
    assert await listed("extension") == [(asking, "dispatched")] and await listed("suspension") == []
    await ok(app, tokens["dispatcher"], late, "appeal/review", {"approve": True})
    assert await listed("appeal", "shift_lead") == [(late, "shift_lead")], "now the shift lead's to decide"
    await ok(app, tokens["shift_lead"], late, "appeal/review", {"approve": True})
    assert await listed("appeal") == []
    response = await app.get("/api/v1/cases", params={"open_request": "ruling"}, headers=bearer(tokens["viewer"]))
    body = await response.json()
    assert response.status == 422 and body["error"]["details"][0]["path"] == ["open_request"], body


async def test_a_category_may_set_its_own_sign_for_limit(db_url, db, tokens, tmp_path):
    from tests.conftest import FIXTURE_CONFIG, load_config_with

    categories = (FIXTURE_CONFIG / "categories.toml").read_text(encoding="utf-8")
    marked = categories.replace('code = "outdoor_barbecue"\n', 'code = "outdoor_barbecue"\nacceptance_hours = 0.5\n', 1)
    assert marked != categories
    await load_config_with(db, tmp_path / "config", {"categories.toml": marked})
    async with workers(db_url, Clock(MONDAY_9), count=1) as (client,):
        barbecue = await created(client, tokens)
        garbage = await created(client, tokens, "exposed_garbage", point=IN_CELL_2)
        cases = [
            await (await client.get(f"/api/v1/cases/{c}", headers=bearer(tokens["viewer"]))).json()
            for c in (barbecue, garbage)
        ]
    assert [at(c, "accept_due_at") for c in cases] == [local("2026-11-23 09:30"), local("2026-11-23 11:00")]


async def test_what_a_case_waits_for_ends_with_a_redispatch_a_closure_or_a_cancellation(app, tokens, clock):
    # A re-dispatch ends the old hold's extension request.
    moved = await created(app, tokens, point=spot(0))
    await ok(app, tokens["department"], moved, "extension", {"reason": "x"})
    again = await ok(app, tokens["dispatcher"], moved, "dispatch", {"department": "street_office"})
    assert again["open_request"] is None
    # A closure ends its 督办: nothing can answer it any more, and nothing records it unanswered.
    supervised = await created(app, tokens, point=spot(1))
    await ok(app, tokens["shift_lead"], supervised, "supervise", {"level": "urge", "note": "x", "reply_hours": 1})
    await ok(app, tokens["department"], supervised, "accept")
    await ok(app, tokens["department"], supervised, "resolve")
    closed = await ok(app, tokens["inspector"], supervised, "verify", {"passed": True})
    assert closed["supervision_due_at"] is None
    clock.advance(hours=3)
    assert (await app.server.app[keys.WATCH].sweep()).supervision == 0
    # A cancellation ends a suspension.
    suspended = await created(app, tokens, point=spot(2))
    until = (clock.now + dt.timedelta(days=2)).isoformat()
    await ok(app, tokens["department"], suspended, "suspension", {"until": until, "reason": "legal", "note": "x"})
    await ok(app, tokens["shift_lead"], suspended, "suspension/decide", {"approve": True})
    cancelled = await ok(app, tokens["dispatcher"], suspended, "cancel", {})
    assert (cancelled["status"], cancelled["suspended_until"], cancelled["light"]) == ("cancelled", None, None)

"""Guards that a row lock or a timing would otherwise hide, each driven to the case it exists for."""

import asyncio
import datetime as dt
import uuid

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from grid_service import keys
from grid_service.app import create_app
from grid_service.auth import Principal
from grid_service.db import case_changes as db_changes
from grid_service.db import deadline_watch as db_watch
from grid_service.db.pool import connect
from grid_service.db.rows import Disputes
from grid_service.domain.enums import Role
from grid_service.domain.states import Action
from grid_service.flows import casework
from grid_service.handlers.queue import decode_cursor
from tests.api.helpers import IN_CELL_1, IN_CELL_2, hold_next_sequence, report
from tests.api.sse import EventReader
from tests.api.test_filing import reported
from tests.api.test_queue import poll
from tests.conftest import bearer, settings_for


async def test_a_transition_writes_nothing_when_the_case_is_no_longer_in_the_expected_status(client, tokens, db):
    created = await (await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))).json()
    case_id = uuid.UUID(created["case_id"])
    change = db_changes.CaseChange(
        status="in_progress",
        pending_reason=None,
        department="urban_management",
        dispatched_at=None,
        deadline_at=None,
        warn_at=None,
        rework_count=0,
        routing_rule_id=None,
        routing_rule=None,
        at=dt.datetime.now(dt.UTC),
        disputes=Disputes(),
    )
    # The flow always reads the status under the row lock; here the status it expects is stale.
    assert await db_changes.apply_change(db, db_changes.Guarded(case_id, change, "resolved", ())) is False
    row = await db.fetchrow("SELECT status, deadline_at FROM cases WHERE id = $1", case_id)
    assert row["status"] == "dispatched" and row["deadline_at"] is not None, "nothing was written"
    assert await db_changes.apply_change(db, db_changes.Guarded(case_id, change, "dispatched", ())) is True


async def test_readers_stop_at_a_gap_while_its_writer_is_open_past_the_settle_time(db_url, tokens):
    """With a short settle time the gap is old enough to look final; only the open writer says it is
    not. Both the queue and the feed must wait for it (otherwise its event would be skipped for good)."""
    client = TestClient(TestServer(create_app(settings_for(db_url, event_gap_settle_s=0.1))))
    await client.start_server()
    try:
        created = await client.post(
            "/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"])
        )
        case_id = (await created.json())["case_id"]
        start = await poll(client, tokens["department"])
        writer, tx, held_seq = await hold_next_sequence(db_url, case_id)
        later = await client.post("/api/v1/reports", json=report(point=IN_CELL_2), headers=bearer(tokens["inspector"]))
        later_case = (await later.json())["case_id"]
        await asyncio.sleep(0.3)  # three settle times: the gap alone would count as final by now
        held = await poll(client, tokens["department"], start["cursor"])
        assert held["cases"] == [], "moved past a number that may still commit"
        feed = await client.get(
            "/api/v1/feed", params={"after": str(decode_cursor(start["cursor"])), "access_token": tokens["viewer"]}
        )
        reader = EventReader(feed)
        assert await reader.silent_for(0.3), "the feed moved past a number that may still commit"
        await tx.commit()
        await writer.close()
        released = await poll(client, tokens["department"], start["cursor"])
        assert [c["id"] for c in released["cases"]] == [case_id, later_case]
        first = await reader.next()
        assert first.id == held_seq and first.data["properties"]["id"] == case_id
        feed.close()
    finally:
        await client.close()


async def test_the_deadline_watch_rechecks_a_case_another_worker_marked_after_its_snapshot(client, tokens, db, db_url):
    """Worker B's sweep takes its snapshot, then waits (here: on a trigger, after it has marked the
    first case) while worker A marks the second case and commits. B then reaches the second case:
    its snapshot says "not warned yet", the row says it was. The flag must be read on the locked
    row (FOR UPDATE re-evaluates it on the newest version); read from the snapshot, B warns again."""
    now = dt.datetime.now(dt.UTC)
    first, second = [
        uuid.UUID(
            (
                await (
                    await client.post("/api/v1/reports", json=report(point=p), headers=bearer(tokens["inspector"]))
                ).json()
            )["case_id"]
        )
        for p in (IN_CELL_1, IN_CELL_2)
    ]
    await db.execute("UPDATE cases SET warn_at = $2 WHERE id = $1", first, now - dt.timedelta(minutes=2))
    await db.execute("UPDATE cases SET warn_at = $2 WHERE id = $1", second, now - dt.timedelta(minutes=1))
    # B pauses when it marks the first case, until the test lets it go.
    await db.execute(
        f"""
        CREATE FUNCTION pause_on_first() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$;
        CREATE TRIGGER pause_on_first BEFORE UPDATE OF warned_at ON cases
           FOR EACH ROW WHEN (OLD.id = '{first}') EXECUTE FUNCTION pause_on_first();
        """
    )
    gate = await asyncpg.connect(db_url)
    worker_a = await asyncpg.connect(db_url)
    worker_b = await asyncpg.connect(db_url)
    try:
        await gate.execute("SELECT pg_advisory_lock(4242)")
        sweep_b = asyncio.create_task(db_watch.record_warnings(worker_b, now=now, limit=1000))
        for _ in range(200):
            waiting = await db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                worker_b.get_server_pid(),
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting, "worker B never reached the pause"
        # A skips the first case (B holds it) and marks the second, which B has not reached yet.
        assert await db_watch.record_warnings(worker_a, now=now, limit=1000) == 1
        await gate.execute("SELECT pg_advisory_unlock(4242)")
        assert await asyncio.wait_for(sweep_b, 10) == 1, (
            "B warned the second case again: the flag was read from its snapshot"
        )
    finally:
        for conn in (gate, worker_a, worker_b):
            await conn.close()
        await db.execute("DROP TRIGGER pause_on_first ON cases; DROP FUNCTION pause_on_first()")
    warnings = await db.fetch(
        "SELECT case_id, count(*) FROM events WHERE type = 'case.warning' GROUP BY case_id ORDER BY case_id"
    )
    assert {r["case_id"]: r["count"] for r in warnings} == {first: 1, second: 1}


async def test_a_filing_whose_case_changed_after_it_was_read_reads_it_again(client, tokens, db, db_url):
    """Filing reads the case unlocked and writes in one statement guarded by the row's version. Here
    a check is requested (the case stays reported) and commits between the filing's read and its
    write: guarded by the status alone the filing would win and leave the check open on a filed
    case. Guarded by the version it reads again, sees the check, and ends it as it files."""
    case_id = await reported(client, tokens)
    requester = await connect(db_url)  # with the service's codecs
    try:
        tx = requester.transaction()
        await tx.start()
        await casework.apply(
            requester,
            case_id=uuid.UUID(case_id),
            action=Action.REQUEST_CHECK,
            caller=Principal(token_id=0, name="other", role=Role.RECEIVER, department=None),
            body=None,
            snapshot=client.app[keys.CONFIG].current,
            now=dt.datetime.now(dt.UTC),
        )
        filing = asyncio.create_task(
            client.post(
                f"/api/v1/cases/{case_id}/file", json={"condition": "stop_work"}, headers=bearer(tokens["receiver"])
            )
        )
        # The filing has read the case (the check is not committed yet) and waits on the row to write.
        for _ in range(500):
            if await db.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the filing never waited on the requested check's row")
        await tx.commit()
        response = await filing
    finally:
        await requester.close()
    case = await response.json()
    assert response.status == 200, case
    assert case["status"] == "dispatched"
    tasks = await db.fetch("SELECT status FROM tasks WHERE case_id = $1", uuid.UUID(case_id))
    assert [t["status"] for t in tasks] == ["cancelled"], "the check requested meanwhile ended with the filing"
    types = [e["type"] for e in case["history"]]
    assert types == ["case.created", "case.check_requested", "case.filed", "case.dispatched", "case.check_completed"]

"""Guards that a row lock or a timing would otherwise hide, each driven to the case it exists for."""

import asyncio
import datetime as dt
import uuid

from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.db import cases as db_cases
from grid_service.handlers.queue import decode_cursor
from tests.api.helpers import IN_CELL_1, IN_CELL_2, hold_next_sequence, report
from tests.api.sse import EventReader
from tests.api.test_queue import poll
from tests.conftest import bearer, settings_for


async def test_a_transition_writes_nothing_when_the_case_is_no_longer_in_the_expected_status(client, tokens, db):
    created = await (await client.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"]))).json()
    case_id = uuid.UUID(created["case_id"])
    change = db_cases.CaseChange(
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
    )
    # The flow always reads the status under the row lock; here the status it expects is stale.
    assert await db_cases.apply_change(db, case_id, change, expected_status="resolved") is False
    row = await db.fetchrow("SELECT status, deadline_at FROM cases WHERE id = $1", case_id)
    assert row["status"] == "dispatched" and row["deadline_at"] is not None, "nothing was written"
    assert await db_cases.apply_change(db, case_id, change, expected_status="dispatched") is True


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

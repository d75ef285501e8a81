"""Reports written together in shared transactions: isolation of failures and per-key order."""

import asyncio
import datetime as dt

import asyncpg

from grid_service.auth import Principal
from grid_service.db import config_store
from grid_service.db.pool import create_pool
from grid_service.db.reports import PreparedReport
from grid_service.flows import intake
from grid_service.flows.group_commit import GroupCommitter
from grid_service.schemas import ReportCreate, Role
from tests.api.helpers import IN_CELL_1, IN_CELL_2, IN_STREET_2, counts, report, upload_photo


async def test_one_report_failing_in_a_shared_transaction_does_not_fail_the_others(db_url, db, client, tokens, caplog):
    await db.execute("ALTER TABLE report_media ADD CONSTRAINT no_b CHECK (sha256 NOT LIKE 'b%')")
    snapshot = await config_store.read_snapshot(db, snap_m=30)
    token_id = await db.fetchval("SELECT id FROM api_tokens WHERE role = 'inspector' ORDER BY id LIMIT 1")
    inspector = Principal(token_id, "inspector", Role.INSPECTOR, None)
    bodies = [report("illegal_construction", point) for point in [IN_CELL_1, IN_CELL_2, IN_STREET_2] * 4]
    bodies[5]["media"] = [await upload_photo(client, tokens["inspector"], first_hex="b")]
    now = dt.datetime.now(dt.UTC)
    reports = [intake.prepare(inspector, ReportCreate.model_validate(b), snapshot, now) for b in bodies]
    pool = await create_pool(db_url, min_size=1, max_size=2)
    try:
        committer = GroupCommitter(pool, timeout=5.0, max_items=50, max_in_flight=1)
        futures = committer.enqueue(reports)  # all twelve in one transaction
        results = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await pool.close()
    assert isinstance(results[5], asyncpg.CheckViolationError)
    assert [r.status_code for i, r in enumerate(results) if i != 5] == [201] * 11
    assert any("one by one" in record.getMessage() for record in caplog.records)
    assert (await counts(db))["reports"] == 11


def prepared(*keys: int) -> PreparedReport:
    """A stand-in report: the committer's ordering looks at the lock keys alone."""
    return PreparedReport(item=None, media=(), lock_keys=keys)  # type: ignore[arg-type]


async def test_reports_sharing_a_key_with_one_in_flight_wait_and_keep_their_order():
    committer = GroupCommitter(pool=None, timeout=1.0, max_items=10, max_in_flight=2)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    entries = [(prepared(*k), loop.create_future()) for k in ([1], [2], [1, 3], [3], [4])]
    committer._pending = [(p, f) for p, f in entries]
    committer._held.update([1])  # a transaction in flight holds key 1
    taken = committer._take_batch()
    # Key 1 is held: the third report waits, and so does the fourth (it shares key 3 with the third).
    assert [p.lock_keys for p, _ in taken] == [(2,), (4,)]
    assert [p.lock_keys for p, _ in committer._pending] == [(1,), (1, 3), (3,)]

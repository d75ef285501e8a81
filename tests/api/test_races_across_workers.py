"""Intake races across two workers: two apps, so two group committers, on one database.

One worker's group committer already keeps reports that share a lock key apart, so a race inside
one app never reaches the database's own guards (the advisory locks of the intake function and
the unique index). Across two apps only those guards stand between the racers.
"""

import asyncio

from grid_service.app import utc_now
from tests.api.helpers import IN_CELL_1, IN_CELL_2, counts, report
from tests.api.test_deadline_watch import workers
from tests.conftest import bearer

ROUNDS = 12


def two_workers(db_url: str):
    return workers(db_url, utc_now, count=2)


async def post(client, token, body):
    response = await client.post("/api/v1/reports", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_reports_of_one_spot_on_two_workers_make_one_case(db_url, db, tokens):
    async with two_workers(db_url) as apps:
        for round_ in range(ROUNDS):  # the interleaving varies: several rounds, each on a fresh spot
            # Spots well beyond the 50 m radius of each other (0.0015° is 117 m east, 167 m north), so
            # that one round's reports can only be duplicates of their own round's case.
            spot = (IN_CELL_1[0] - 0.004 + (round_ % 4) * 0.0015, IN_CELL_1[1] - 0.002 + (round_ // 4) * 0.0015)
            bodies = [report("outdoor_barbecue", (spot[0] + i * 1e-5, spot[1])) for i in range(20)]
            results = await asyncio.gather(
                *(post(apps[i % 2], tokens["inspector"], body) for i, body in enumerate(bodies))
            )
            assert {status for status, _ in results} == {201}
            assert len({b["case_id"] for _, b in results}) == 1, f"round {round_}: two cases for one spot"
            assert sum(not b["duplicate"] for _, b in results) == 1
    assert (await counts(db))["cases"] == ROUNDS


async def test_one_client_id_sent_to_two_workers_at_once_is_stored_once(db_url, db, tokens):
    async with two_workers(db_url) as apps:
        body = report("illegal_construction", IN_CELL_2, client_id="race-across")
        results = await asyncio.gather(*(post(apps[i % 2], tokens["inspector"], body) for i in range(40)))
    assert sorted(status for status, _ in results) == [200] * 39 + [201]
    assert len({b["report_id"] for _, b in results}) == 1
    assert (await counts(db))["reports"] == 1

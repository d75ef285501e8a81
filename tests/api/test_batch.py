import asyncio
import io
import json

import pytest

from tests.api.helpers import FAR_AWAY, IN_CELL_1, IN_CELL_2, counts, report
from tests.conftest import bearer


async def post_batch(client, token, reports):
    response = await client.post("/api/v1/reports/batch", json={"reports": reports}, headers=bearer(token))
    return response.status, await response.json()


async def test_each_item_is_answered_in_order_and_bad_items_do_not_stop_good_ones(client, tokens, db):
    good = report("illegal_construction", IN_CELL_2)
    items = [
        good,
        {**report(), "location": {"type": "Point", "coordinates": [500, 0]}},
        report("graffiti"),
        report("outdoor_barbecue", FAR_AWAY),
    ]
    status, body = await post_batch(client, tokens["inspector"], items)
    assert status == 200
    results = body["results"]
    assert [r["status_code"] for r in results] == [201, 422, 422, 201]
    assert results[0]["report"]["grid"]["code"] == "230108001001002"
    assert ["reports", 1, "location", "coordinates", 0] in [d["path"] for d in results[1]["error"]["details"]]
    assert results[2]["error"]["details"][0]["path"] == ["reports", 2, "category"]
    assert results[3]["report"]["pending_reason"] == "outside_grid"
    assert (await counts(db))["reports"] == 2


async def test_resending_a_batch_replays_every_answer(client, tokens, db):
    items = [report("outdoor_barbecue", IN_CELL_1), report("illegal_construction", IN_CELL_2)]
    _, first = await post_batch(client, tokens["inspector"], items)
    before = await counts(db)
    _, again = await post_batch(client, tokens["inspector"], items)
    assert [r["status_code"] for r in again["results"]] == [200, 200]
    assert [r["report"] for r in again["results"]] == [r["report"] for r in first["results"]]
    assert await counts(db) == before


async def test_a_report_sent_alone_then_in_a_batch_is_stored_once(client, tokens, db):
    item = report("outdoor_barbecue", IN_CELL_1)
    single = await client.post("/api/v1/reports", json=item, headers=bearer(tokens["inspector"]))
    _, batch = await post_batch(client, tokens["inspector"], [item])
    assert batch["results"][0] == {"status_code": 200, "report": await single.json()}


async def test_the_same_client_id_twice_in_one_batch(client, tokens):
    item = report("outdoor_barbecue", IN_CELL_1)
    _, body = await post_batch(client, tokens["inspector"], [item, item, {**item, "description": "other"}])
    codes = [r["status_code"] for r in body["results"]]
    assert codes == [201, 200, 409]
    assert body["results"][2]["error"]["code"] == "idempotency_conflict"


async def test_overlapping_batches_racing_store_each_report_once(client, tokens, db):
    items = [report("illegal_construction", IN_CELL_2) for _ in range(30)]
    results = await asyncio.gather(
        post_batch(client, tokens["inspector"], items),
        post_batch(client, tokens["inspector"], list(reversed(items))),
        post_batch(client, tokens["inspector"], items[10:20]),
    )
    assert all(status == 200 for status, _ in results)
    assert (await counts(db))["reports"] == 30
    assert len({r["report"]["report_id"] for _, body in results for r in body["results"]}) == 30


async def test_batch_limits(client, tokens, db):
    empty_status, _ = await post_batch(client, tokens["inspector"], [])
    too_many_status, too_many = await post_batch(client, tokens["inspector"], [report() for _ in range(501)])
    assert (empty_status, too_many_status) == (422, 422)
    assert too_many["error"]["details"][0]["path"] == ["reports"]
    assert (await counts(db))["reports"] == 0


async def test_a_full_batch_of_500_is_accepted(client, tokens, db):
    status, body = await post_batch(client, tokens["inspector"], [report("illegal_construction") for _ in range(500)])
    assert status == 200 and {r["status_code"] for r in body["results"]} == {201}
    assert (await counts(db))["reports"] == 500


async def test_a_one_megabyte_batch_is_read_whole_over_a_real_socket(client, tokens, db):
    items = [report(description="占道经营" * 500) for _ in range(180)]  # 2,000 characters each
    body = json.dumps({"reports": items}, ensure_ascii=False).encode()
    assert len(body) > 1024 * 1024
    response = await client.post(
        "/api/v1/reports/batch",
        data=io.BytesIO(body),
        headers={**bearer(tokens["inspector"]), "Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    assert {r["status_code"] for r in (await response.json())["results"]} == {201}
    assert (await counts(db))["reports"] == 180


@pytest.mark.parametrize(
    "bad",
    [
        {"description": "烧烤\x00摊"},
        {"observed_at": "0001-01-01T00:00:00+08:00"},
        {"observed_at": "9999-12-31T23:59:59-14:00"},
    ],
)
async def test_an_item_the_database_could_not_store_is_refused_alone_before_it_reaches_it(client, tokens, db, bad):
    items = [report(point=IN_CELL_1), report(point=IN_CELL_2, **bad), report("outdoor_barbecue", FAR_AWAY)]
    status, body = await post_batch(client, tokens["inspector"], items)
    assert status == 200
    assert [r["status_code"] for r in body["results"]] == [201, 422, 201]
    assert (await counts(db))["reports"] == 2


async def test_an_item_refused_inside_the_database_gets_its_own_answer_and_the_others_commit(client, tokens, db):
    # A rule only the database knows: the item passes every check in Python and fails in the
    # shared transaction; it is answered on its own, and so is a resend of the whole batch.
    await db.execute("ALTER TABLE reports ADD CONSTRAINT no_poison CHECK (description IS DISTINCT FROM 'poison')")
    items = [report(point=IN_CELL_1), report(point=IN_CELL_2, description="poison"), report("outdoor_barbecue")]
    for expected in ([201, 500, 201], [200, 500, 200]):
        status, body = await post_batch(client, tokens["inspector"], items)
        assert status == 200
        assert [r["status_code"] for r in body["results"]] == expected
        assert body["results"][1]["error"]["code"] == "internal_error"
    assert (await counts(db))["reports"] == 2

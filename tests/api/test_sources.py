"""Sources (SPEC §10): every report carries where it came from, and who may say so."""

import pytest

from tests.api.helpers import IN_CELL_1, IN_CELL_2, report
from tests.api.test_open311 import BASE, form
from tests.conftest import bearer


async def post(client, token, body):
    return await client.post("/api/v1/reports", json=body, headers=bearer(token))


async def case_of(client, tokens, answer):
    response = await client.get(f"/api/v1/cases/{answer['case_id']}", headers=bearer(tokens["viewer"]))
    return await response.json()


async def test_an_inspectors_report_is_the_inspectors_source_on_the_case_the_map_and_open311(client, tokens):
    answer = await (await post(client, tokens["inspector"], report())).json()
    case = await case_of(client, tokens, answer)
    assert case["source"] == "inspector" and case["reports"][0]["source"] == "inspector"
    features = await (await client.get("/api/v1/map/cases", headers=bearer(tokens["viewer"]))).json()
    [feature] = [f for f in features["features"] if f["id"] == answer["case_id"]]
    assert feature["properties"]["source"] == "inspector"
    [request] = await (await client.get(f"{BASE}/requests/{answer['case_no']}.json")).json()
    assert request["source"] == "inspector"


async def test_a_channel_tokens_reports_take_its_source(client, tokens):
    answer = await (await post(client, tokens["channel"], report())).json()
    case = await case_of(client, tokens, answer)
    assert case["source"] == "public" and case["reports"][0]["source"] == "public"
    # naming its own source is the same thing
    named = await post(client, tokens["channel"], report(point=IN_CELL_2, source="public"))
    assert named.status == 201


async def test_a_channel_token_posting_through_open311_takes_its_source(client, tokens):
    response = await client.post(f"{BASE}/requests.json", data=form(tokens["channel"], description="占道经营"))
    assert response.status == 200, await response.text()
    [created] = await response.json()
    [request] = await (await client.get(f"{BASE}/requests/{created['service_request_id']}.json")).json()
    assert request["source"] == "public"


@pytest.mark.parametrize("source", ["hotline", "leader"])
async def test_a_receiver_registers_a_phoned_in_report(client, tokens, source):
    response = await post(client, tokens["receiver"], report(source=source))
    assert response.status == 201, await response.text()
    case = await case_of(client, tokens, await response.json())
    assert case["source"] == source


@pytest.mark.parametrize(
    ("token", "source"),
    [
        ("inspector", "public"),  # an inspector reports as an inspector
        ("channel", "hotline"),  # a channel is bound to its own source
        ("receiver", None),  # a receiver says where the report came from
        ("receiver", "inspector"),
        ("shift_lead", "sensor"),
    ],
)
async def test_a_source_the_caller_may_not_give_is_refused_and_nothing_is_stored(client, tokens, db, token, source):
    before = await db.fetchval("SELECT count(*) FROM reports")
    body = report() if source is None else report(source=source)
    response = await post(client, tokens[token], body)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["details"][0]["path"] == ["source"] and error["details"][0]["type"] == "source_not_allowed"
    assert await db.fetchval("SELECT count(*) FROM reports") == before


async def test_an_unknown_source_is_a_validation_error(client, tokens):
    response = await post(client, tokens["receiver"], report(source="rumour"))
    assert response.status == 422
    assert (await response.json())["error"]["details"][0]["path"] == ["source"]


async def test_a_retry_from_before_sources_existed_is_still_recognised(client, tokens):
    """A report without a source hashes as it did before the field existed, so the phone that sent
    it before an upgrade and resends it after gets its first answer, not a conflict."""
    body = report(point=IN_CELL_1)
    first = await post(client, tokens["inspector"], body)
    again = await post(client, tokens["inspector"], {**body, "source": "inspector"})
    assert first.status == 201
    assert again.status == 409  # the same client_id with a different body (a source named now)
    resent = await post(client, tokens["inspector"], body)
    assert resent.status == 200 and (await resent.json()) == (await first.json())


async def test_a_channel_token_reads_nothing(client, tokens):
    for path in ("/api/v1/cases", "/api/v1/map/cases", "/api/v1/queue"):
        response = await client.get(path, headers=bearer(tokens["channel"]))
        assert response.status == 403, path
        assert (await response.json())["error"]["code"] == "forbidden"

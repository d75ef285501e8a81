"""A month of cases built by hand through the API (December 2026 on the fixture calendar: Tuesday
1 December a holiday), and every assessment figure of it checked by hand, raw (按原期) and adjusted
(按批准期), by department, category and street, and for the inspector, the receiver and the
dispatcher (SPEC §12)."""

import datetime as dt
import io

import pytest

from grid_service import keys
from tests.api.helpers import IN_STREET_2, Clock, report, upload_photo
from tests.api.test_deadline_watch import SHANGHAI, workers
from tests.api.test_disputes import ok, spot
from tests.api.test_tasks import complete, tasks_of
from tests.conftest import bearer

MONTH = {"from": "2026-12-01", "to": "2027-01-01"}
BACK = {"reason": "not_our_responsibility", "note": "不属本部门"}


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def build_month(client, tokens, clock):
    """Barbecue (2 natural hours) in cell 1 goes to urban_management, in street 2 to street_office;
    construction dust (7.5 working hours) in cell 1 to housing.

    1 on time      2 Dec 09:00, resolved 10:00 (due 11:00), closed.
    2 late         2 Dec 09:00, resolved 12:00, closed.
    3 extended     2 Dec 09:00, extension approved 10:00 (due 13:00), resolved 12:00, closed.
    4 suspended    1 Dec (the holiday) 10:00, construction dust: counting starts Wed 08:30, due
                   Wed 17:30; suspended 11:00 to Thu 08:30 (7.5 working hours paused: the
                   holiday counts none) so due Thu 17:30; resolved Thu 15:00, closed.
    5 ruled        2 Dec 09:00 in street 2; returned by street_office, dispatched back, returned
                   again: arbitration; ruled to urban_management 10:00 (due 12:00); resolved
                   11:30, closed.
    6 appealed     like 2, then appealed: reviewed and approved.
    7 refused      like 2, then appealed: refused by the dispatcher.
    8 self-handled 3 Dec, exposed garbage: closed at once, no department.
    9 not yet due  31 Dec 23:00 (due 1 Jan 01:00, after the month): open.
    10 overdue     30 Dec 09:00, never resolved.
    11 returned    30 Dec 10:00, returned at 10:30: waits for the dispatcher, due nowhere.
    12 public      4 Dec 09:00 a citizen's report: the inspector checks it (核实) 09:10, on time;
                   the receiver files it 09:12, inside 上报→受理 (15 minutes); due 11:12, resolved
                   10:00, closed.
    """
    department, street_office = tokens["department"], tokens["department:street_office"]

    async def new(point, category="outdoor_barbecue", when=None, **extra):
        if when is not None:
            clock.now = when
        body = report(category, point, **extra)
        response = await client.post("/api/v1/reports", json=body, headers=bearer(tokens["inspector"]))
        assert response.status == 201, await response.text()
        return (await response.json())["case_id"]

    async def step(when, case_id, action, token, body=None):
        clock.now = when
        return await ok(client, token, case_id, action, body)

    async def handled(case_id, resolved, verified):
        await step(resolved, case_id, "resolve", department)
        await step(verified, case_id, "verify", tokens["inspector"], {"passed": True})

    cases = {}
    clock.now = at(2, 9)
    for name, n in (("on_time", 0), ("late", 1), ("extended", 2), ("appealed", 3), ("refused", 4)):
        cases[name] = await new(spot(n))
        await step(at(2, 9, 10), cases[name], "accept", department)
    await handled(cases["on_time"], at(2, 10), at(2, 10, 30))
    await step(at(2, 10), cases["extended"], "extension", department, {"reason": "需协调"})
    await step(at(2, 10, 5), cases["extended"], "extension/decide", tokens["dispatcher"], {"approve": True})
    for name in ("late", "extended", "appealed", "refused"):
        await handled(cases[name], at(2, 12), at(2, 12, 30))
    await step(at(2, 13), cases["appealed"], "appeal", department, {"note": "暴雨"})
    await step(at(2, 14), cases["appealed"], "appeal/review", tokens["dispatcher"], {"approve": True})
    await step(at(2, 15), cases["appealed"], "appeal/review", tokens["shift_lead"], {"approve": True})
    await step(at(2, 13), cases["refused"], "appeal", department, {"note": "理由不足"})
    await step(at(2, 14), cases["refused"], "appeal/review", tokens["dispatcher"], {"approve": False})

    cases["suspended"] = await new(spot(0), "construction_dust", when=at(1, 10))
    housing = tokens["department:housing"]
    await step(at(1, 10, 10), cases["suspended"], "accept", housing)
    until = {"until": at(3, 8, 30).isoformat(), "reason": "season", "note": "停工"}
    await step(at(1, 10, 30), cases["suspended"], "suspension", housing, until)
    suspended = await step(at(1, 11), cases["suspended"], "suspension/decide", tokens["shift_lead"], {"approve": True})
    assert dt.datetime.fromisoformat(suspended["deadline_at"]) == at(2, 17, 30)
    resumed = await step(at(3, 8, 30), cases["suspended"], "resume", housing)
    assert dt.datetime.fromisoformat(resumed["deadline_at"]) == at(3, 17, 30), "Wednesday's 7.5 hours paused"
    await step(at(3, 15), cases["suspended"], "resolve", housing)
    await step(at(3, 15, 30), cases["suspended"], "verify", tokens["inspector"], {"passed": True})

    cases["ruled"] = await new(IN_STREET_2, when=at(2, 9))
    await step(at(2, 9, 10), cases["ruled"], "reject", street_office, BACK)
    await step(at(2, 9, 20), cases["ruled"], "dispatch", tokens["dispatcher"], {"department": "street_office"})
    await step(at(2, 9, 30), cases["ruled"], "reject", street_office, BACK)
    ruling = {"department": "urban_management", "fault": "dispatcher", "note": "属城管"}
    await step(at(2, 10), cases["ruled"], "rule", tokens["shift_lead"], ruling)
    await step(at(2, 10, 10), cases["ruled"], "accept", department)
    await handled(cases["ruled"], at(2, 11, 30), at(2, 11, 40))

    clock.now = at(4, 9)
    response = await client.post(
        "/api/v1/reports", json=report("outdoor_barbecue", spot(8)), headers=bearer(tokens["channel"])
    )
    cases["public"] = (await response.json())["case_id"]
    [task] = (await tasks_of(client, tokens["inspector"], status="open"))["tasks"]
    clock.now = at(4, 9, 10)
    assert (await complete(client, tokens["inspector"], task["id"], "confirmed", point=spot(8)))[0] == 204
    await step(at(4, 9, 12), cases["public"], "file", tokens["receiver"])
    await step(at(4, 9, 20), cases["public"], "accept", department)
    await handled(cases["public"], at(4, 10), at(4, 10, 30))

    clock.now = at(3, 9)
    before, after = await upload_photo(client, tokens["inspector"]), await upload_photo(client, tokens["inspector"])
    cases["self"] = await new(spot(5), "exposed_garbage", self_handled=True, media=[before], after_media=[after])
    cases["overdue"] = await new(spot(6), when=at(30, 9))
    cases["returned"] = await new(spot(9), when=at(30, 10))  # returned: no deadline in force at the end
    await step(at(30, 10, 30), cases["returned"], "reject", department, BACK)
    cases["not_yet"] = await new(spot(7), when=at(31, 23))
    clock.now = at(31, 23, 30)
    return cases


@pytest.fixture
async def month(db_url, db, tokens):
    from tests.conftest import make_token

    tokens = {**tokens, "department:housing": await make_token(db, "department", "housing")}
    clock = Clock(at(1, 8))
    async with workers(db_url, clock, count=1) as [client]:
        cases = await build_month(client, tokens, clock)
        yield client, tokens, clock, cases


async def figures(client, tokens, **params):
    response = await client.get("/api/v1/stats", params={**MONTH, **params}, headers=bearer(tokens["viewer"]))
    body = await response.json()
    assert response.status == 200, body
    return body


COHORT = ("filed", "due", "closed", "closed_on_time", "reworked", "closure_rate", "on_time_rate")


def cohort(group):
    return {name: group[name] for name in COHORT}


async def test_the_months_figures_by_department_raw_and_adjusted(month):
    client, tokens, _, _ = month
    raw = {g["key"]: cohort(g) for g in (await figures(client, tokens, group_by="department"))["groups"]}
    adjusted_body = await figures(client, tokens, group_by="department", adjusted="true")
    assert adjusted_body["adjusted"] is True
    adjusted = {g["key"]: cohort(g) for g in adjusted_body["groups"]}
    # urban_management: 1, 2, 3, 5 (ruled to it), 6, 7, 9, 10, 11, 12. Due: all but 9 and 11;
    # closed: 1-3, 5-7, 12.
    assert raw["urban_management"] == {
        "filed": 10,
        "due": 8,
        "closed": 7,
        "closed_on_time": 3,  # 1, 5 and 12; 3 was late by its dispatch's deadline, 6 by it too
        "reworked": 0,
        "closure_rate": 0.875,
        "on_time_rate": 0.375,
    }
    assert adjusted["urban_management"] == {
        **raw["urban_management"],
        "closed_on_time": 5,  # and 3 (extended to 13:00) and 6 (its appeal approved); 7's refused
        "on_time_rate": 0.625,
    }
    # housing: the suspended case, resolved after its dispatch's deadline but before the moved one.
    assert raw["housing"] == {**EMPTY_ONE, "closed_on_time": 0, "on_time_rate": 0.0}
    assert adjusted["housing"] == EMPTY_ONE
    # the self-handled case counts for no department
    assert raw[None] == adjusted[None] == EMPTY_ONE
    assert raw["street_office"]["filed"] == 0, "the ruled case counts for the department it was ruled to"


EMPTY_ONE = {
    "filed": 1,
    "due": 1,
    "closed": 1,
    "closed_on_time": 1,
    "reworked": 0,
    "closure_rate": 1.0,
    "on_time_rate": 1.0,
}


async def test_the_months_figures_by_category_and_their_reproducibility(month):
    client, tokens, clock, cases = month
    raw = {g["key"]: cohort(g) for g in (await figures(client, tokens, group_by="category"))["groups"]}
    assert raw["outdoor_barbecue"]["filed"] == 10 and raw["outdoor_barbecue"]["due"] == 8
    assert raw["outdoor_barbecue"]["closed_on_time"] == 3
    assert raw["construction_dust"] == {**EMPTY_ONE, "closed_on_time": 0, "on_time_rate": 0.0}
    assert raw["exposed_garbage"] == EMPTY_ONE
    adjusted = {
        g["key"]: cohort(g) for g in (await figures(client, tokens, group_by="category", adjusted="true"))["groups"]
    }
    assert adjusted["outdoor_barbecue"]["closed_on_time"] == 5 and adjusted["construction_dust"] == EMPTY_ONE
    await client.server.app[keys.WATCH].sweep()  # 31 Dec 23:30: the case of 30 Dec recorded overdue
    december = (await figures(client, tokens, group_by="department"))["groups"]
    assert next(g for g in december if g["key"] == "urban_management")["overdue_open"] == 1
    # January: the overdue case is closed, a new one reported; December's figures stay as they were.
    clock.now = at(4, 9, month=1).replace(year=2027)
    await ok(client, tokens["department"], cases["overdue"], "accept")
    await ok(client, tokens["department"], cases["overdue"], "resolve")
    await ok(client, tokens["inspector"], cases["overdue"], "verify", {"passed": True})
    await client.post("/api/v1/reports", json=report(point=spot(8)), headers=bearer(tokens["inspector"]))
    again = {g["key"]: cohort(g) for g in (await figures(client, tokens, group_by="category"))["groups"]}
    assert again == raw
    # every figure, by department too: the overdue case, closed since, was still open at December's end
    assert (await figures(client, tokens, group_by="department"))["groups"] == december


async def test_a_return_ruled_the_dispatchers_fault_lowers_the_dispatchers_accuracy(month):
    client, tokens, _, _ = month
    groups = (await figures(client, tokens, group_by="dispatcher"))["groups"]
    by_role = {g["key"].split("-")[0]: g for g in groups}
    # The dispatcher sent case 5 back to street_office, which returned it again; the ruling blamed
    # the dispatcher. The shift lead's ruling dispatched it once more, accurately.
    assert (by_role["dispatcher"]["dispatched"], by_role["dispatcher"]["dispatch_accuracy"]) == (1, 0.0)
    assert (by_role["shift_lead"]["dispatched"], by_role["shift_lead"]["dispatch_accuracy"]) == (1, 1.0)


async def bulletin(client, tokens, accept="application/json", month="2026-12"):
    response = await client.get(
        "/api/v1/reports/monthly", params={"month": month}, headers={**bearer(tokens["viewer"]), "Accept": accept}
    )
    return response


async def test_the_monthly_bulletin_holds_the_months_figures_raw_and_adjusted(month):
    client, tokens, _, _ = month
    response = await bulletin(client, tokens)
    body = await response.json()
    assert response.status == 200, body
    assert body["title"] == "平房区数字城管月度通报（2026年12月）"
    assert (body["from"], body["to"]) == ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")
    sections = body["sections"]
    assert [sections[s]["title"] for s in ("source", "department", "street", "category")] == [
        "按来源",
        "按部门",
        "按街道",
        "按类别",
    ]
    urban = next(r for r in sections["department"]["rows"] if r["key"] == "urban_management")
    assert (urban["name"], urban["filed"], urban["due"], urban["closed"]) == ("城市管理行政执法局", 10, 8, 7)
    assert (urban["closed_on_time"], urban["on_time_rate"]) == (3, 0.375)
    assert (urban["adjusted_due"], urban["adjusted_closed_on_time"], urban["adjusted_on_time_rate"]) == (8, 5, 0.625)
    assert [(r["name"], r["filed"]) for r in sections["source"]["rows"]] == [("监督员上报", 11), ("公众举报", 1)]
    top = sections["top_categories"]["rows"]
    assert [(r["key"], r["filed"], r["previous"], r["month_on_month"]) for r in top] == [
        ("outdoor_barbecue", 10, 0, None),
        ("construction_dust", 1, 0, None),
        ("exposed_garbage", 1, 0, None),
    ]
    others = {r["key"]: r["count"] for r in sections["others"]["rows"]}
    assert others == {"self_handled": 1, "extended": 1, "suspended": 1, "resumed": 1, "appeals_approved": 1}


async def test_the_bulletins_spreadsheet_cells_equal_its_json(month):
    from openpyxl import load_workbook

    from grid_service.bulletin import COLUMNS, TOP_COLUMNS

    client, tokens, _, _ = month
    body = await (await bulletin(client, tokens)).json()
    response = await bulletin(client, tokens, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="monthly-2026-12.xlsx"'
    book = load_workbook(io.BytesIO(await response.read()))
    sections = body["sections"]
    for key in ("source", "department", "street", "category"):
        sheet = book[sections[key]["title"]]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == [heading for _, heading in COLUMNS]
        assert [list(r) for r in rows[1:]] == [[row[f] for f, _ in COLUMNS] for row in sections[key]["rows"]]
    top = list(book[sections["top_categories"]["title"]].iter_rows(values_only=True))
    assert list(top[0]) == [h for _, h in TOP_COLUMNS] and len(top) == 4
    assert [list(r) for r in top[1:]] == [
        [row[f] for f, _ in TOP_COLUMNS] for row in sections["top_categories"]["rows"]
    ]
    others = list(book[sections["others"]["title"]].iter_rows(values_only=True))
    assert [list(r) for r in others[1:]] == [[r["name"], r["count"]] for r in sections["others"]["rows"]]


async def test_the_bulletins_document_has_every_section_and_table(month):
    from docx import Document

    client, tokens, _, _ = month
    body = await (await bulletin(client, tokens)).json()
    response = await bulletin(client, tokens, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert response.status == 200
    doc = Document(io.BytesIO(await response.read()))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == body["title"]
    assert headings[1:] == [s["title"] for s in body["sections"].values()]
    department = doc.tables[1]
    urban = next(r for r in department.rows if r.cells[0].text == "城市管理行政执法局")
    assert [c.text for c in urban.cells[1:5]] == ["10", "8", "7", "3"]
    assert urban.cells[6].text == "37.50%"


@pytest.mark.parametrize("month", ["2026-13", "26-12", "2026-1", "2099-01", ""])
async def test_a_bulletin_of_no_month_is_422(client, tokens, month):
    response = await client.get("/api/v1/reports/monthly", params={"month": month}, headers=bearer(tokens["viewer"]))
    body = await response.json()
    assert response.status == 422 and body["error"]["details"][0]["path"] == ["month"], body


async def test_a_department_does_not_read_the_bulletin(client, tokens):
    response = await client.get(
        "/api/v1/reports/monthly", params={"month": "2026-12"}, headers=bearer(tokens["department"])
    )
    assert response.status == 403


async def test_the_months_figures_by_street_and_for_the_inspector(month):
    client, tokens, _, _ = month
    raw = {g["key"]: cohort(g) for g in (await figures(client, tokens, group_by="street"))["groups"]}
    adjusted = {
        g["key"]: cohort(g) for g in (await figures(client, tokens, group_by="street", adjusted="true"))["groups"]
    }
    # Street 1 holds every case but the ruled one: 11 filed, all due but the one not yet due and
    # the returned one, the overdue one open; on time by the dispatch's deadline: 1, the
    # self-handled one and the citizen's; by the deadline in force also the extended, the
    # suspended and the appealed one.
    assert raw["230108001"] == {
        "filed": 11,
        "due": 9,
        "closed": 8,
        "closed_on_time": 3,
        "reworked": 0,
        "closure_rate": 0.8889,
        "on_time_rate": 0.3333,
    }
    assert adjusted["230108001"] == {**raw["230108001"], "closed_on_time": 6, "on_time_rate": 0.6667}
    assert raw["230108002"] == adjusted["230108002"] == EMPTY_ONE, "the ruled case, on time by its ruling"
    [inspector] = (await figures(client, tokens, group_by="inspector"))["groups"]
    assert (inspector["reported"], inspector["valid"], inspector["self_handled"]) == (11, 11, 1)
    # it checked the citizen's report (核实) ten minutes into its half hour
    assert (inspector["check_report_done"], inspector["check_report_on_time_rate"]) == (1, 1.0)
    # and checked eight results (核查: every closure but the self-handled one), each within its 30 minutes
    assert (inspector["check_result_done"], inspector["check_result_on_time_rate"]) == (8, 1.0)
    # the receiver filed the citizen's report twelve minutes after it came in (上报→受理: 15)
    [receiver] = (await figures(client, tokens, group_by="receiver"))["groups"]
    assert (receiver["accepted"], receiver["filed"], receiver["filed_on_time_rate"]) == (1, 1, 1.0)


async def test_the_bulletins_top_categories_compare_with_the_month_before_and_the_year_before(month):
    client, tokens, clock, _ = month
    # barbecues filed in November (2) and in December a year before (4), at spots whose December
    # cases are closed (so none joins them)
    for when, spots in ((at(20, 9, month=11), (0, 1)), (at(10, 9).replace(year=2025), (2, 3, 4, 8))):
        clock.now = when
        for n in spots:
            response = await client.post(
                "/api/v1/reports", json=report("outdoor_barbecue", spot(n)), headers=bearer(tokens["inspector"])
            )
            assert response.status == 201 and (await response.json())["status"] == "dispatched"
    clock.now = at(31, 23, 30)
    body = await (await bulletin(client, tokens)).json()
    barbecue = body["sections"]["top_categories"]["rows"][0]
    assert (barbecue["key"], barbecue["filed"], barbecue["previous"], barbecue["month_on_month"]) == (
        "outdoor_barbecue",
        10,
        2,
        4.0,  # (10 − 2) / 2
    )
    assert (barbecue["year_before"], barbecue["year_on_year"]) == (4, 1.5)  # (10 − 4) / 4
    november = await (await bulletin(client, tokens, month="2026-11")).json()
    assert [(r["key"], r["filed"]) for r in november["sections"]["top_categories"]["rows"]] == [("outdoor_barbecue", 2)]


async def test_a_reworked_case_counts_in_the_rework_rate_and_the_composite_score(db_url, tokens):
    """Two barbecues of 2 December, due 11:00: one failed its check once and was closed on time
    after rework, one closed late. 结案率 1, 按期结案率 0.5, 返工率 0.5; 综合 0.4 × 1 + 0.4 × 0.5
    + 0.2 × (1 − 0.5) = 0.7. Adjusted figures are the same: nothing was approved."""
    clock = Clock(at(2, 9))
    department, inspector = tokens["department"], tokens["inspector"]
    async with workers(db_url, clock, count=1) as [client]:

        async def step(when, case_id, action, token, body=None):
            clock.now = when
            return await ok(client, token, case_id, action, body)

        cases = []
        for n in (0, 2):
            clock.now = at(2, 9)
            body = report("outdoor_barbecue", spot(n))
            response = await client.post("/api/v1/reports", json=body, headers=bearer(inspector))
            cases.append((await response.json())["case_id"])
        reworked, late = cases
        for case_id in cases:
            await step(at(2, 9, 10), case_id, "accept", department)
        await step(at(2, 9, 30), reworked, "resolve", department)
        failed = await step(at(2, 9, 40), reworked, "verify", inspector, {"passed": False, "note": "仍有炭火"})
        assert (failed["status"], failed["rework_count"]) == ("in_progress", 1)
        await step(at(2, 10), reworked, "resolve", department)
        await step(at(2, 10, 10), reworked, "verify", inspector, {"passed": True})
        await step(at(2, 12), late, "resolve", department)
        await step(at(2, 12, 10), late, "verify", inspector, {"passed": True})
        clock.now = at(31, 23)
        for adjusted in ("false", "true"):
            body = await figures(client, tokens, group_by="department", adjusted=adjusted)
            [urban] = [g for g in body["groups"] if g["key"] == "urban_management"]
            assert cohort(urban) == {
                "filed": 2,
                "due": 2,
                "closed": 2,
                "closed_on_time": 1,
                "reworked": 1,
                "closure_rate": 1.0,
                "on_time_rate": 0.5,
            }
            assert (urban["rework_rate"], urban["scores"]) == (0.5, {"composite": 0.7})

"""The statistics the workbench charts: the day-by-day flow on a clock the test moves, counted by
hand; the SVG charts parsed as XML, their figures those of /api/v1/stats."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from tests.api.helpers import IN_CELL_1, IN_CELL_2, Clock, report, upload_photo
from tests.api.test_deadline_watch import MONDAY_9, SHANGHAI, workers
from tests.api.test_stats import DAY, build_history
from tests.conftest import bearer

SVG = "{http://www.w3.org/2000/svg}"
WEEK = {"from": "2026-11-22", "to": "2026-11-27"}  # Sunday to Thursday


def zeros(date):
    return {"date": date, "reported": 0, "filed": 0, "closed": 0}


async def daily(client, token, **params):
    response = await client.get("/api/v1/stats/daily", params=params, headers=bearer(token))
    body = await response.json()
    assert response.status == 200, body
    return body


async def post(client, token, path, body=None):
    response = await client.post(path, json=body if body is not None else {}, headers=bearer(token))
    answer = await response.json()
    assert response.status in (200, 201), answer
    return answer


@pytest.fixture
async def clocked(db_url):
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        yield client, clock


async def test_each_day_counts_what_was_reported_filed_and_closed_on_it(clocked, tokens):
    """Monday 09:00 A (filed at once) and B (a leader's, waiting for a receiver) are reported;
    Tuesday B is filed and A closed; Wednesday nothing; Thursday C is fixed on the spot."""
    client, clock = clocked
    inspector, clerk = tokens["inspector"], tokens["department"]
    a = (await post(client, inspector, "/api/v1/reports", report("outdoor_barbecue", IN_CELL_1)))["case_id"]
    b = await post(
        client, tokens["receiver"], "/api/v1/reports", report("illegal_construction", IN_CELL_2, source="leader")
    )
    assert b["status"] == "reported"
    clock.now = MONDAY_9 + dt.timedelta(days=1, hours=1)
    await post(client, tokens["receiver"], f"/api/v1/cases/{b['case_id']}/file", {"condition": "stop_work"})
    await post(client, clerk, f"/api/v1/cases/{a}/accept")
    await post(client, clerk, f"/api/v1/cases/{a}/resolve")
    await post(client, inspector, f"/api/v1/cases/{a}/verify", {"passed": True})
    clock.now = MONDAY_9 + dt.timedelta(days=3)
    before, after = await upload_photo(client, inspector), await upload_photo(client, inspector)
    fixed = report("outdoor_barbecue", IN_CELL_1, self_handled=True, media=[before], after_media=[after])
    assert (await post(client, inspector, "/api/v1/reports", fixed))["status"] == "closed"

    body = await daily(client, tokens["viewer"], **WEEK)
    assert (body["from"], body["to"]) == ("2026-11-22T00:00:00+08:00", "2026-11-27T00:00:00+08:00")
    assert body["days"] == [
        zeros("2026-11-22"),
        {"date": "2026-11-23", "reported": 2, "filed": 1, "closed": 0},
        {"date": "2026-11-24", "reported": 0, "filed": 1, "closed": 1},
        zeros("2026-11-25"),
        {"date": "2026-11-26", "reported": 1, "filed": 1, "closed": 1},
    ]
    # The days add up to what /api/v1/stats counts for the whole period.
    stats = await client.get("/api/v1/stats", params={**WEEK, "group_by": "category"}, headers=bearer(tokens["viewer"]))
    groups = (await stats.json())["groups"]
    assert sum(d["reported"] for d in body["days"]) == sum(g["reported"] for g in groups) == 3
    assert sum(d["filed"] for d in body["days"]) == sum(g["filed"] for g in groups) == 3


async def test_a_day_ends_at_the_citys_midnight(clocked, tokens):
    client, clock = clocked
    for when, point in ((dt.datetime(2026, 11, 23, 23, 59), IN_CELL_1), (dt.datetime(2026, 11, 24, 0, 1), IN_CELL_2)):
        clock.now = when.replace(tzinfo=SHANGHAI)  # (two places: the second is no duplicate of the first)
        await post(client, tokens["inspector"], "/api/v1/reports", report("outdoor_barbecue", point))
    body = await daily(client, tokens["viewer"], **{"from": "2026-11-23", "to": "2026-11-25"})
    assert [(d["date"], d["reported"]) for d in body["days"]] == [("2026-11-23", 1), ("2026-11-24", 1)]
    # 23:59 in Shanghai is 15:59 UTC: a UTC day would have put both on the 23rd.
    # A period of instants counts only inside it; its first and last days are listed.
    part = await daily(client, tokens["viewer"], **{"from": "2026-11-24T00:00:00+08:00", "to": "2026-11-24T00:00:30Z"})
    assert part["days"] == [{"date": "2026-11-24", "reported": 1, "filed": 1, "closed": 0}]


async def test_the_default_is_the_30_days_ending_today_in_the_city(clocked, tokens):
    client, clock = clocked
    clock.now = dt.datetime(2026, 11, 23, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC
    await post(client, tokens["inspector"], "/api/v1/reports", report("outdoor_barbecue", IN_CELL_1))
    body = await daily(client, tokens["viewer"])
    assert (body["from"], body["to"]) == ("2026-10-25T00:00:00+08:00", "2026-11-24T00:00:00+08:00")
    assert len(body["days"]) == 30 and body["days"][0] == zeros("2026-10-25")
    assert body["days"][-1] == {"date": "2026-11-23", "reported": 1, "filed": 1, "closed": 0}


async def test_daily_parameters_and_roles(client, tokens):
    for params in (
        {"from": "2026-11-24", "to": "2026-11-23"},
        {"from": "2026-11-23", "to": "2026-11-23"},
        {"from": "2025-01-01", "to": "2026-01-03"},  # 367 days
        {"from": "yesterday"},
        {"group_by": "department"},
    ):
        for path in ("/api/v1/stats/daily", "/api/v1/stats/trend.svg"):
            response = await client.get(path, params=params, headers=bearer(tokens["viewer"]))
            body = await response.json()
            assert response.status == 422 and body["error"]["code"] == "validation_failed", (path, params, body)
    too_long = await client.get(
        "/api/v1/stats/daily", params={"from": "2025-01-01", "to": "2026-01-03"}, headers=bearer(tokens["viewer"])
    )
    assert (await too_long.json())["error"]["details"] == [
        {"path": ["to"], "message": "at most 366 calendar days after from", "type": "period_too_long"}
    ]
    leap_year = await daily(client, tokens["viewer"], **{"from": "2024-01-01", "to": "2025-01-01"})
    assert len(leap_year["days"]) == 366 and leap_year["days"][-1]["date"] == "2024-12-31"
    bad_group = await client.get(
        "/api/v1/stats/rates.svg", params={"group_by": "grid"}, headers=bearer(tokens["viewer"])
    )
    assert bad_group.status == 422
    paths = (
        "/api/v1/stats/daily",
        "/api/v1/stats/trend.svg",
        "/api/v1/stats/rates.svg",
        "/api/v1/stats/categories.svg",
    )
    for path in paths:
        for role in ("dispatcher", "shift_lead", "viewer", "admin"):
            assert (await client.get(path, headers=bearer(tokens[role]))).status == 200, (path, role)
        for role in ("inspector", "department", "receiver", "channel"):
            response = await client.get(path, headers=bearer(tokens[role]))
            assert response.status == 403 and (await response.json())["error"]["code"] == "forbidden", (path, role)
        assert (await client.get(path)).status == 401


def parse(text):
    """The SVG as XML, checked for what every chart carries."""
    root = ET.fromstring(text)  # noqa: S314 (the service's own answer)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-label")
    assert (
        root.get("width")
        and root.get("height")
        and root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    )
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == root.get("aria-label")
    sizes = [float(e.get("font-size")) for e in root.iter() if e.get("font-size") is not None]
    assert sizes and min(sizes) >= 14
    assert not [e for e in root.iter() if e.tag in (f"{SVG}script", f"{SVG}foreignObject")]
    return root


def texts(root):
    return [e.text for e in root.iter(f"{SVG}text")]


def tooltips(root):
    return [e.text for e in root.iter(f"{SVG}title")]


async def svg(client, token, path, **params):
    response = await client.get(path, params=params, headers=bearer(token))
    text = await response.text()
    assert response.status == 200, text
    assert response.content_type == "image/svg+xml"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'unsafe-inline'") and "script" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return parse(text)


@pytest.fixture
async def history(db_url, db, tokens):
    """test_stats' Monday, and then B (closed late) appealed and the appeal approved: on time only
    when adjusted."""
    clock = Clock(MONDAY_9)
    async with workers(db_url, clock, count=1) as [client]:
        await build_history(client, tokens, clock)
        late = str(await db.fetchval("SELECT id FROM cases WHERE rework_count > 0"))
        clock.now = MONDAY_9.replace(hour=15)
        await post(client, tokens["department"], f"/api/v1/cases/{late}/appeal", {"note": "暴雨停工"})
        await post(client, tokens["dispatcher"], f"/api/v1/cases/{late}/appeal/review", {"approve": True})
        await post(client, tokens["shift_lead"], f"/api/v1/cases/{late}/appeal/review", {"approve": True})
        clock.now = MONDAY_9 + dt.timedelta(days=3)
        yield client


def shown(rate):
    return "—" if rate is None else f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


async def test_the_rates_chart_shows_the_stats_figures_raw_beside_adjusted(history, tokens):
    viewer = tokens["viewer"]
    for group_by in ("department", "street"):
        root = await svg(history, viewer, "/api/v1/stats/rates.svg", group_by=group_by, **DAY)
        params = {**DAY, "group_by": group_by}
        raw = (await (await history.get("/api/v1/stats", params=params, headers=bearer(viewer))).json())["groups"]
        adjusted = await (
            await history.get("/api/v1/stats", params={**params, "adjusted": "true"}, headers=bearer(viewer))
        ).json()
        adjusted_by_key = {g["key"]: g for g in adjusted["groups"]}
        labels, bars = texts(root), tooltips(root)
        for group in raw:
            name = group["name"] or ("（无部门）" if group_by == "department" else "（网格外）")
            assert name in labels, name
            figures = {
                "结案率（按原期）": group["closure_rate"],
                "结案率（按批准期）": adjusted_by_key[group["key"]]["closure_rate"],
                "按期结案率（按原期）": group["on_time_rate"],
                "按期结案率（按批准期）": adjusted_by_key[group["key"]]["on_time_rate"],
            }
            for what, rate in figures.items():
                if rate is not None:
                    assert f"{name} {what} {shown(rate)}" in bars, (name, what, bars)
        assert len(raw) == len(adjusted["groups"])
    root = await svg(history, viewer, "/api/v1/stats/rates.svg", **DAY)
    bars = tooltips(root)
    # By hand (test_stats): A on time, B late but its appeal approved.
    assert "城市管理行政执法局 按期结案率（按原期） 33.33%" in bars
    assert "城市管理行政执法局 按期结案率（按批准期） 66.67%" in bars
    assert "城市管理行政执法局 结案率（按原期） 66.67%" in bars
    assert root.find(f"{SVG}title").text == "各部门结案率与按期结案率（按原期 / 按批准期，2026-11-23 至 2026-11-23）"


async def test_the_trend_and_categories_charts_show_the_days_and_the_categories(history, tokens):
    viewer = tokens["viewer"]
    root = await svg(history, viewer, "/api/v1/stats/trend.svg", **{"from": "2026-11-22", "to": "2026-11-25"})
    labels = texts(root)
    assert {"上报（合计 4）", "立案（合计 4）", "结案（合计 2）"} <= set(labels)
    assert {"11-22", "11-23", "11-24"} <= set(labels)
    assert [e for e in root.iter(f"{SVG}polyline")] and len(list(root.iter(f"{SVG}polyline"))) == 3
    assert "2026-11-23 上报 4" in tooltips(root)
    ticks = [t for t in labels if t.isdigit()]
    assert ticks == ["0", "1", "2", "3", "4"]
    root = await svg(history, viewer, "/api/v1/stats/categories.svg", **DAY)
    by_category = await (
        await history.get("/api/v1/stats", params={**DAY, "group_by": "category"}, headers=bearer(viewer))
    ).json()
    expected = sorted(((g["reported"], g["name"]) for g in by_category["groups"] if g["reported"]), key=lambda g: -g[0])
    assert [(3, "露天烧烤"), (1, "暴露垃圾")] == expected
    labels = texts(root)
    for count, name in expected:
        assert name in labels and str(count) in labels and f"{name} {count}" in tooltips(root)
    assert labels.index("露天烧烤") < labels.index("暴露垃圾"), "the most reported first"


async def test_an_empty_period_is_a_chart_that_says_no_data(client, tokens):
    for path in ("/api/v1/stats/trend.svg", "/api/v1/stats/rates.svg", "/api/v1/stats/categories.svg"):
        root = await svg(client, tokens["viewer"], path, **DAY)
        assert "无数据" in texts(root), path


async def test_the_heat_maps_counts_are_the_cases_reported_per_cell_in_the_period(clocked, tokens):
    client, clock = clocked
    inspector = tokens["inspector"]
    for category, point in (
        ("outdoor_barbecue", IN_CELL_1),
        ("illegal_construction", IN_CELL_1),
        ("outdoor_barbecue", IN_CELL_2),
    ):
        await post(client, inspector, "/api/v1/reports", report(category, point))  # three cases, not duplicates
    clock.now = MONDAY_9 + dt.timedelta(days=2)
    await post(client, inspector, "/api/v1/reports", report("outdoor_barbecue", IN_CELL_2))  # after the period
    period = {"from": MONDAY_9.date().isoformat(), "to": (MONDAY_9 + dt.timedelta(days=1)).isoformat()}
    response = await client.get("/api/v1/stats/cells", params=period, headers=bearer(tokens["viewer"]))
    assert response.status == 200, await response.text()
    cells = (await response.json())["cells"]
    assert cells == [{"code": "230108001001001", "reported": 2}, {"code": "230108001001002", "reported": 1}]
    response = await client.get("/api/v1/stats/cells", params={"from": "soon"}, headers=bearer(tokens["viewer"]))
    assert response.status == 422


async def test_a_settled_periods_figures_are_kept_and_an_open_one_is_not(clocked, tokens, db):
    client, clock = clocked
    await post(client, tokens["inspector"], "/api/v1/reports", report("outdoor_barbecue", IN_CELL_1))
    ended = {"from": MONDAY_9.date().isoformat(), "to": (MONDAY_9.date() + dt.timedelta(days=1)).isoformat()}
    running = {"from": MONDAY_9.date().isoformat()}  # to now

    async def figures(params):
        response = await client.get("/api/v1/stats", params=params, headers=bearer(tokens["viewer"]))
        assert response.status == 200, await response.text()
        return (await response.json())["groups"]

    before_end = await figures(ended)
    assert await db.fetchval("SELECT count(*) FROM figures_kept") == 0, "not ended yet: computed, not kept"
    await figures(running)
    clock.now = MONDAY_9 + dt.timedelta(days=2)
    after_end = await figures(ended)
    assert after_end == before_end
    kept = await db.fetch("SELECT adjusted FROM figures_kept ORDER BY adjusted")
    assert [row["adjusted"] for row in kept] == [False, True], "ended: raw and adjusted kept once, together"
    await db.execute("UPDATE figures_kept SET figures = '[]'")  # read from where it is kept, not again
    assert await figures(ended) == []
    assert await figures({**ended, "adjusted": "true"}) == []

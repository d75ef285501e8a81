"""The SVG charts drawn from figures alone: well-formed, escaped, legible, with round scales."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from grid_service import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "引号" \x07'


def parse(text):
    root = ET.fromstring(text)  # noqa: S314 (text this module made)
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == root.get("aria-label")
    assert min(float(e.get("font-size")) for e in root.iter() if e.get("font-size") is not None) >= 14
    return root


def all_text(root):
    return [t for e in root.iter() for t in (e.text, *e.attrib.values()) if t]


def test_every_label_is_escaped_text_never_markup():
    hostile_rates = charts.rates([charts.RateGroup(HOSTILE, 0.5, 0.75, None, 0.25)], HOSTILE, HOSTILE)
    hostile_bars = charts.categories([(HOSTILE, 3)], HOSTILE)
    hostile_trend = charts.trend([charts.Day(dt.date(2026, 11, 23), 1, 0, 0)], HOSTILE)
    for text in (hostile_rates, hostile_bars, hostile_trend):
        assert "<script>" not in text and "&lt;script&gt;" in text
        root = parse(text)
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert any('<script>alert("x")</script>' in t for t in all_text(root)), "shown as the text it is"
        assert "\x07" not in text, "a character XML cannot carry is dropped"
    labels = [e.text for e in parse(hostile_rates).iter(f"{SVG}text")]
    assert {"50%", "75%", "—", "25%"} <= set(labels)


def test_the_trend_has_a_line_per_series_and_the_totals_in_its_legend():
    days = [charts.Day(dt.date(2026, 11, 1) + dt.timedelta(days=i), i, i // 2, i // 3) for i in range(31)]
    root = parse(charts.trend(days, "2026-11-01 至 2026-12-01"))
    assert len(list(root.iter(f"{SVG}polyline"))) == 3
    labels = [e.text for e in root.iter(f"{SVG}text")]
    assert {f"上报（合计 {sum(range(31))}）", "11-01", "12-01"} <= set(labels)
    assert [t for t in labels if t.isdigit()] == ["0", "10", "20", "30"]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (43, [0, 10, 20, 30, 40, 50]),
        (1234, [0, 500, 1000, 1500]),
        (0, [0, 1]),
    ],
)
def test_scales_stop_at_round_ticks(maximum, ticks):
    assert charts.round_ticks(maximum) == ticks


def test_no_figures_is_a_chart_that_says_so():
    for text in (charts.trend([], "p"), charts.rates([], "部门", "p"), charts.categories([], "p")):
        assert "无数据" in [e.text for e in parse(text).iter(f"{SVG}text")]


def test_percentages_read_as_a_person_writes_them():
    assert [charts.percent(r) for r in (0.6667, 0.5, 1.0, 0.0, 0.3333, 0.125)] == [
        "66.67%",
        "50%",
        "100%",
        "0%",
        "33.33%",
        "12.5%",
    ]

"""The statistics' charts as SVG documents: pure functions from figures to text, no I/O.

Drawn on the server so that a page shows them as plain images (<img src="…svg">): no chart
library in the browser, nothing that runs. Every text written, a name from the configuration
included, goes through `_escape` / `_attr` (XML escaping; characters XML cannot carry dropped);
captions are zh-CN; no text is smaller than 14 px; colours come from one fixed palette; each
document carries width, height and viewBox, a <title> and role="img" with an aria-label, so a
screen reader names it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
FONT_SIZE = 14  # the smallest text drawn
TITLE_SIZE = 18

# The fixed palette: one colour per series, the same on every chart and every day.
TEXT = "#1f2933"
MUTED = "#52606d"
AXIS = "#7b8794"
GRID = "#e4e7eb"
REPORTED = "#2563eb"  # 上报
FILED = "#d97706"  # 立案
CLOSED = "#059669"  # 结案
CLOSURE_RAW = "#1d4ed8"  # 结案率 按原期
CLOSURE_ADJUSTED = "#93c5fd"  # 结案率 按批准期
ON_TIME_RAW = "#b45309"  # 按期结案率 按原期
ON_TIME_ADJUSTED = "#fcd34d"  # 按期结案率 按批准期
BAR = "#2563eb"

NO_DATA = "无数据"
NOTHING_DUE = "无应结案"  # a group none of whose cases was due: no rate to show

# Code points XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _attr(text: str) -> str:
    """An attribute value with its quotes."""
    return quoteattr(_NOT_XML.sub("", text))


def _width(text: str, size: int = FONT_SIZE) -> float:
    """The drawn width of a text, estimated: CJK characters are a full em, the others about 0.6."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = FONT_SIZE,
    anchor: str = "start",
    fill: str = TEXT,
    bold: bool = False,
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{weight}>'
        f"{_escape(content)}</text>"
    )


def _document(width: float, height: float, title: str, body: list[str]) -> str:
    w, h = _num(width), _num(height)
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'role="img" aria-label={_attr(title)} font-family={_attr(FONT)}>',
            f"<title>{_escape(title)}</title>",
            f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
            _text(16, 30, title, size=TITLE_SIZE, bold=True),
            *body,
            "</svg>",
            "",
        ]
    )


def _no_data(width: float, height: float, title: str) -> str:
    return _document(width, height, title, [_text(width / 2, height / 2, NO_DATA, size=TITLE_SIZE, anchor="middle")])


def round_ticks(maximum: float, count: int = 5) -> list[float]:
    """Ticks from 0 to at least ``maximum`` at a round step (1, 2 or 5 times a power of ten), about
    ``count`` of them; counts get whole steps."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1) if maximum >= 1 else step
    top = math.ceil(maximum / step) * step
    return [round(i * step, 10) for i in range(round(top / step) + 1)]


def _tick_label(value: float) -> str:
    return f"{value:g}"


def percent(rate: float) -> str:
    """0.6667 → 66.67%, 0.5 → 50%."""
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _legend(x: float, y: float, entries: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    for colour, label in entries:
        parts.append(f'<rect x="{_num(x)}" y="{_num(y - 12)}" width="14" height="14" fill="{colour}"/>')
        parts.append(_text(x + 20, y, label))
        x += 20 + _width(label) + 24
    return parts


def _date_marks(count: int) -> list[int]:
    """Which days get their date under the axis: about ten at a regular step, the first and the last
    among them (the last one moved onto the last day when it would crowd it)."""
    every = max(1, math.ceil(count / 10))
    marks = list(range(0, count, every))
    if marks[-1] != count - 1:
        if len(marks) > 1 and count - 1 - marks[-1] < every / 2:
            marks[-1] = count - 1
        else:
            marks.append(count - 1)
    return marks


@dataclass(frozen=True, slots=True)
class Day:
    date: dt.date
    reported: int
    filed: int
    closed: int


TREND_SERIES = (("reported", "上报", REPORTED), ("filed", "立案", FILED), ("closed", "结案", CLOSED))


def trend(days: Sequence[Day], period: str) -> str:
    """Three lines over the days (上报, 立案, 结案), the y axis at round ticks, a date every few days
    on the x axis, each line's total in the legend; 无数据 when nothing happened."""
    width, height = 960.0, 440.0
    title = f"上报、立案、结案趋势（{period}）"
    if not any(d.reported or d.filed or d.closed for d in days):
        return _no_data(width, height, title)
    left, right, top, bottom = 64.0, 24.0, 84.0, 56.0
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = round_ticks(max(max(d.reported, d.filed, d.closed) for d in days))
    y_max = ticks[-1]

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if len(days) == 1 else i * plot_w / (len(days) - 1))

    def y_of(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    body = _legend(
        left,
        58,
        [(colour, f"{label}（合计 {sum(getattr(d, field) for d in days)}）") for field, label, colour in TREND_SERIES],
    )
    for tick in ticks:
        y = y_of(tick)
        body.append(
            f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + plot_w)}" y2="{_num(y)}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 8, y + 5, _tick_label(tick), anchor="end", fill=MUTED))
    body.append(
        f'<line x1="{_num(left)}" y1="{_num(top + plot_h)}" x2="{_num(left + plot_w)}" y2="{_num(top + plot_h)}" '
        f'stroke="{AXIS}"/>'
    )
    body.append(
        f'<line x1="{_num(left)}" y1="{_num(top)}" x2="{_num(left)}" y2="{_num(top + plot_h)}" stroke="{AXIS}"/>'
    )
    for i in _date_marks(len(days)):
        x = x_of(i)
        body.append(
            f'<line x1="{_num(x)}" y1="{_num(top + plot_h)}" x2="{_num(x)}" y2="{_num(top + plot_h + 5)}" '
            f'stroke="{AXIS}"/>'
        )
        body.append(_text(x, top + plot_h + 24, days[i].date.strftime("%m-%d"), anchor="middle", fill=MUTED))
    marks = len(days) <= 62  # a point per day to hover while there is room for it
    for field, label, colour in TREND_SERIES:
        points = " ".join(f"{_num(x_of(i))},{_num(y_of(getattr(d, field)))}" for i, d in enumerate(days))
        body.append(f"<g><title>{_escape(label)}</title>")
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        if marks:
            for i, d in enumerate(days):
                value = getattr(d, field)
                body.append(
                    f'<circle cx="{_num(x_of(i))}" cy="{_num(y_of(value))}" r="3" fill="{colour}">'
                    f"<title>{_escape(f'{d.date.isoformat()} {label} {value}')}</title></circle>"
                )
        body.append("</g>")
    return _document(width, height, title, body)


@dataclass(frozen=True, slots=True)
class RateGroup:
    """A group's rates raw (按原期) and adjusted (按批准期); None where nothing was due."""

    name: str
    closure_raw: float | None
    closure_adjusted: float | None
    on_time_raw: float | None
    on_time_adjusted: float | None


RATE_BARS = (
    ("closure_raw", "结案率（按原期）", CLOSURE_RAW),
    ("closure_adjusted", "结案率（按批准期）", CLOSURE_ADJUSTED),
    ("on_time_raw", "按期结案率（按原期）", ON_TIME_RAW),
    ("on_time_adjusted", "按期结案率（按批准期）", ON_TIME_ADJUSTED),
)
LABEL_CHARS = 16  # a longer group name is cut (the whole name is the group's tooltip)


def rates(groups: Sequence[RateGroup], what: str, period: str) -> str:
    """For each group (a department or street: ``what`` names which), four bars from 0 to 100 %:
    结案率 and 按期结案率, raw beside adjusted, each with its percentage ("—" where nothing was due by
    that count, 无应结案 where by neither)."""
    title = f"各{what}结案率与按期结案率（按原期 / 按批准期，{period}）"
    width = 960.0
    if not groups:
        return _no_data(width, 240.0, title)
    bar, gap, block_gap = 18.0, 4.0, 20.0
    block = len(RATE_BARS) * bar + (len(RATE_BARS) - 1) * gap
    names = [g.name if len(g.name) <= LABEL_CHARS else g.name[: LABEL_CHARS - 1] + "…" for g in groups]
    left = 24 + max(_width(n) for n in names) + 16
    right, top, bottom = 90.0, 96.0, 24.0
    plot_w = width - left - right
    height = top + len(groups) * (block + block_gap) + bottom
    body = _legend(24, 58, [(colour, label) for _, label, colour in RATE_BARS])
    plot_bottom = height - bottom
    for tick in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        x = left + tick * plot_w
        body.append(
            f'<line x1="{_num(x)}" y1="{_num(top - 6)}" x2="{_num(x)}" y2="{_num(plot_bottom)}" stroke="{GRID}"/>'
        )
        body.append(_text(x, top - 12, percent(tick), anchor="middle", fill=MUTED))
    for index, (group, name) in enumerate(zip(groups, names, strict=True)):
        y = top + index * (block + block_gap) + block_gap / 2
        body.append(f"<g><title>{_escape(group.name)}</title>")
        body.append(_text(left - 12, y + block / 2 + 5, name, anchor="end"))
        if all(getattr(group, field) is None for field, _, _ in RATE_BARS):
            body.append(_text(left + 6, y + block / 2 + 5, NOTHING_DUE, fill=MUTED))
            body.append("</g>")
            continue
        for field, label, colour in RATE_BARS:
            rate: float | None = getattr(group, field)
            shown = "—" if rate is None else percent(rate)
            if rate is not None:
                body.append(
                    f'<rect x="{_num(left)}" y="{_num(y)}" width="{_num(rate * plot_w)}" height="{_num(bar)}" '
                    f'fill="{colour}"><title>{_escape(f"{group.name} {label} {shown}")}</title></rect>'
                )
            end = left + (rate or 0) * plot_w
            body.append(_text(end + 6, y + bar - 3, shown, fill=MUTED))
            y += bar + gap
        body.append("</g>")
    body.append(
        f'<line x1="{_num(left)}" y1="{_num(top - 6)}" x2="{_num(left)}" y2="{_num(plot_bottom)}" stroke="{AXIS}"/>'
    )
    return _document(width, height, title, body)


def categories(counts: Sequence[tuple[str, int]], period: str) -> str:
    """The categories reported most, as horizontal bars: each one's display name and count, the
    scale at round ticks."""
    title = f"上报最多的类别（{period}）"
    width = 960.0
    if not counts:
        return _no_data(width, 240.0, title)
    bar, gap = 26.0, 12.0
    names = [n if len(n) <= LABEL_CHARS else n[: LABEL_CHARS - 1] + "…" for n, _ in counts]
    left = 24 + max(_width(n) for n in names) + 16
    right, top, bottom = 80.0, 76.0, 24.0
    plot_w = width - left - right
    height = top + len(counts) * (bar + gap) + bottom
    ticks = round_ticks(max(count for _, count in counts))
    x_max = ticks[-1]
    body: list[str] = []
    for tick in ticks:
        x = left + tick / x_max * plot_w
        body.append(
            f'<line x1="{_num(x)}" y1="{_num(top - 6)}" x2="{_num(x)}" y2="{_num(height - bottom)}" stroke="{GRID}"/>'
        )
        body.append(_text(x, top - 12, _tick_label(tick), anchor="middle", fill=MUTED))
    for index, ((full, count), name) in enumerate(zip(counts, names, strict=True)):
        y = top + index * (bar + gap) + gap / 2
        body.append(f"<g><title>{_escape(f'{full} {count}')}</title>")
        body.append(_text(left - 12, y + bar / 2 + 5, name, anchor="end"))
        body.append(
            f'<rect x="{_num(left)}" y="{_num(y)}" width="{_num(count / x_max * plot_w)}" '
            f'height="{_num(bar)}" fill="{BAR}"/>'
        )
        body.append(_text(left + count / x_max * plot_w + 6, y + bar / 2 + 5, str(count)))
        body.append("</g>")
    body.append(
        f'<line x1="{_num(left)}" y1="{_num(top - 6)}" x2="{_num(left)}" y2="{_num(height - bottom)}" stroke="{AXIS}"/>'
    )
    return _document(width, height, title, body)

"""The monthly bulletin (月度通报, SPEC §12): its sections as data, and the same data as a spreadsheet
(openpyxl) and a document (python-docx). Every table of the two files is the JSON's, cell for cell."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from docx import Document
from openpyxl import Workbook

from grid_service.configuration.evaluation import EvaluationConfig
from grid_service.db.bulletin import CohortGroup

GROUPINGS = {"source": "按来源", "department": "按部门", "street": "按街道", "category": "按类别"}
# Each column of a grouping's table: (field, heading).
COLUMNS = (
    ("name", "名称"),
    ("filed", "立案数"),
    ("due", "应结案数"),
    ("closed", "结案数"),
    ("closed_on_time", "按期结案数"),
    ("closure_rate", "结案率"),
    ("on_time_rate", "按期结案率"),
    ("rework_rate", "返工率"),
    ("adjusted_due", "应结案数(按批准期)"),
    ("adjusted_closed_on_time", "按期结案数(按批准期)"),
    ("adjusted_on_time_rate", "按期结案率(按批准期)"),
)
TOP_COLUMNS = (
    ("name", "类别"),
    ("filed", "本月立案数"),
    ("previous", "上月立案数"),
    ("month_on_month", "环比"),
    ("year_before", "去年同月立案数"),
    ("year_on_year", "同比"),
)
OTHER_ROWS = (
    ("self_handled", "自处置数"),
    ("extended", "批准延期数"),
    ("suspended", "批准挂账数"),
    ("resumed", "恢复处置数"),
    ("appeals_approved", "超时申诉通过数"),
)
SOURCES = {
    "inspector": "监督员上报",
    "public": "公众举报",
    "hotline": "12345热线",
    "leader": "领导交办",
    "sensor": "视频/物联网",
}


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month in the city's time zone, and the two it is compared with."""

    year: int
    month: int
    tz: dt.tzinfo

    def start(self, back: int = 0) -> dt.datetime:
        index = self.year * 12 + self.month - 1 - back
        return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=self.tz)

    def end(self, back: int = 0) -> dt.datetime:
        return self.start(back - 1)

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


def _change(now: int, before: int) -> float | None:
    """环比 / 同比: the relative change, or None when there was nothing before."""
    return round((now - before) / before, 4) if before else None


def assemble(
    month: Month,
    groups: list[CohortGroup],
    names: dict[str, dict[str, str]],
    filed: tuple[dict[str, int], dict[str, int], dict[str, int]],
    others: dict[str, Any],
    evaluation: EvaluationConfig,
    district: str,
) -> dict[str, Any]:
    """The bulletin as data: ``filed`` is the filed count by category this month, the month before
    and the same month a year before; ``names`` a grouping's names by key."""
    sections: dict[str, Any] = {}
    for grouping, title in GROUPINGS.items():
        rows = []
        for g in (g for g in groups if g.grouping == grouping):
            raw = {
                "filed": g.filed,
                "due": g.due,
                "closed": g.closed,
                "closed_on_time": g.on_time,
                "reworked": g.reworked,
            }
            rates = evaluation.rates_of(raw)
            # 按批准期: the same formulas over the adjusted counts
            adjusted = evaluation.rates_of({**raw, "due": g.due_adjusted, "closed_on_time": g.on_time_adjusted})
            rows.append(
                {
                    "key": g.key,
                    "name": names.get(grouping, {}).get(g.key or "", g.key or "(无)"),
                    **raw,
                    **rates,
                    "adjusted_due": g.due_adjusted,
                    "adjusted_closed_on_time": g.on_time_adjusted,
                    "adjusted_on_time_rate": adjusted["on_time_rate"],
                }
            )
        sections[grouping] = {"title": title, "rows": rows}
    now, previous, year_before = filed
    top = sorted(now, key=lambda code: (-now[code], code))[:5]
    sections["top_categories"] = {
        "title": "高发问题前五位",
        "rows": [
            {
                "key": code,
                "name": names.get("category", {}).get(code, code),
                "filed": now[code],
                "previous": previous.get(code, 0),
                "month_on_month": _change(now[code], previous.get(code, 0)),
                "year_before": year_before.get(code, 0),
                "year_on_year": _change(now[code], year_before.get(code, 0)),
            }
            for code in top
        ],
    }
    sections["others"] = {
        "title": "自处置、延期、挂账与申诉",
        "rows": [{"key": key, "name": name, "count": int(others.get(key) or 0)} for key, name in OTHER_ROWS],
    }
    return {
        "month": month.label,
        "from": month.start().isoformat(),
        "to": month.end().isoformat(),
        "title": f"{district}数字城管月度通报（{month.year}年{month.month}月）",
        "sections": sections,
    }


def _tables(bulletin: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Each section as (title, headings, rows of values): what both files show."""
    out = []
    sections = bulletin["sections"]
    for grouping in GROUPINGS:
        section = sections[grouping]
        out.append((section["title"], [h for _, h in COLUMNS], [[r[f] for f, _ in COLUMNS] for r in section["rows"]]))
    top = sections["top_categories"]
    out.append((top["title"], [h for _, h in TOP_COLUMNS], [[r[f] for f, _ in TOP_COLUMNS] for r in top["rows"]]))
    others = sections["others"]
    out.append((others["title"], ["项目", "数量"], [[r["name"], r["count"]] for r in others["rows"]]))
    return out


def spreadsheet(bulletin: dict[str, Any]) -> bytes:
    """One sheet per section: its headings on the first row, its rows below."""
    book = Workbook()
    book.remove(book.active)
    for title, headings, rows in _tables(bulletin):
        sheet = book.create_sheet(title[:31])  # a sheet's name holds 31 characters at most
        sheet.append(headings)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def document(bulletin: dict[str, Any]) -> bytes:
    """The title, then each section as a heading and a table."""
    doc = Document()
    doc.add_heading(bulletin["title"], level=0)
    doc.add_paragraph(f"统计周期：{bulletin['from'][:10]} 至 {bulletin['to'][:10]}（不含），按立案批次、以期末状态计。")
    for title, headings, rows in _tables(bulletin):
        doc.add_heading(title, level=1)
        table = doc.add_table(rows=1, cols=len(headings))
        table.style = "Table Grid"
        for cell, heading in zip(table.rows[0].cells, headings, strict=True):
            cell.text = heading
        for row in rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = _shown(value)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2%}" if -10 <= value <= 10 else f"{value:g}"
    return str(value)

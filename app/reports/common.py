"""Small pieces every document uses: the center's name, tables of plain text, dates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reportlab.lib.colors import white
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Table

from app.reports.fonts import form_style, grid_style, para, styles
from app.services import settings
from app.services.setup import township

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


def center_name(session: Any) -> str:
    """The center's name as printed: the setting, else 〈乡镇〉群众诉求快处中心."""
    name = str(settings.get(session, "center_name") or "").strip()
    return name or f"{township(session).name}群众诉求快处中心"


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def cn_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def cell(value: object, style: ParagraphStyle | None = None) -> Flowable:
    return para(value, style or styles().table)


def grid(header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float], *,
         total_row: bool = False, centered: Sequence[int] = ()) -> Table:
    """A ruled table of plain values; the header repeats on every page."""
    st = styles()
    data: list[list[Any]] = [[cell(h, st.table_head) for h in header]]
    for row in rows:
        data.append([v if isinstance(v, Flowable) else cell(v, st.table_center if i in centered else st.table)
                     for i, v in enumerate(row)])
    table = Table(data, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(grid_style(header_rows=1, total_row=total_row))
    return table


def form(rows: Sequence[Sequence[object]], widths: Sequence[float], label_columns: tuple[int, ...] = (0,),
         spans: Sequence[tuple[tuple[int, int], tuple[int, int]]] = ()) -> Table:
    """A label/value form; ``spans`` are (start, end) cells to merge."""
    st = styles()
    data = [[v if isinstance(v, Flowable) else cell(v, st.table_head if i in label_columns else st.table)
             for i, v in enumerate(row)] for row in rows]
    table = Table(data, colWidths=list(widths), hAlign="LEFT")
    style = form_style(label_columns)
    for start, end in spans:
        style.add("SPAN", start, end)
        style.add("BACKGROUND", start, end, white)  # a label column's shading stops at a merged value
    table.setStyle(style)
    return table


@dataclass
class BatchResult:
    """What a batch of documents produced."""

    written: list[Path]
    failed: list[tuple[str, str]]  # (case number, Chinese reason)
    cancelled: bool = False
    total: int = 0

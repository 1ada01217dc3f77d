"""Exports: the district ledger layout, the 一村一档 workbook, and the ledger view as shown.

Every export streams (openpyxl write-only mode): rows are read from the database in
batches and written as they come, so 200,000 rows take a flat amount of memory. Each
export calls ``progress(done, total, text)`` and checks ``cancelled()`` every few hundred
rows; a cancelled or failed export leaves no file behind (it is written beside the
target under a temporary name and renamed at the end).

The district layout (the district's 排查台账, then the program's own columns):
序号, 反映人, 住址, 联系方式, 诉求类型, 诉求类别 一级/二级/三级, 诉求来源, 诉求内容,
责任单位, 备注, 编码, 受理日期, 办理时限, 状态, 办结日期, 满意度, 村(社区).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from app.db import Database
from app.excel.cells import CancelFlag, Progress, StyleKit, Ticker, row_height
from app.models import Category, Channel, Demand, Petitioner, Unit, Village
from app.personal import format_phone
from app.services import queries, rates, settings
from app.services.calendar import load_calendar
from app.services.queries import DemandFilter, Row, remaining_text
from app.services.setup import township

YIELD_PER = 2000
HEADER_TOP = 3  # the first header row (row 1 is the title, row 2 the period line)
SHEET_NAME_MAX = 31


@dataclass(frozen=True)
class ExportColumn:
    key: str
    title: str
    width: float
    style: str = "body"  # a StyleKit style: body, wrap, centre, text, date, int, percent
    group: str = ""  # the merged title above, for two-row headers


DISTRICT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("seq", "序号", 5, "centre"),
    ExportColumn("petitioner", "反映人", 8, "wrap"),
    ExportColumn("address", "住址", 14, "wrap"),
    ExportColumn("phone", "联系方式", 13, "text"),
    ExportColumn("type", "诉求类型", 8.5, "centre"),
    ExportColumn("category1", "一级", 8, "wrap", "诉求类别"),
    ExportColumn("category2", "二级", 8, "wrap", "诉求类别"),
    ExportColumn("category3", "三级", 8, "wrap", "诉求类别"),
    ExportColumn("channel", "诉求来源", 9, "wrap"),
    ExportColumn("content", "诉求内容", 30, "wrap"),
    ExportColumn("unit", "责任单位", 13, "wrap"),
    ExportColumn("remarks", "备注", 9, "wrap"),
    ExportColumn("code", "编码", 14, "text_wrap"),
    ExportColumn("received", "受理日期", 11, "date"),
    ExportColumn("deadline", "办理时限", 11, "date"),
    ExportColumn("status", "状态", 7, "centre"),
    ExportColumn("closed", "办结日期", 11, "date"),
    ExportColumn("satisfaction", "满意度", 7, "centre"),
    ExportColumn("village", "村(社区)", 9, "wrap"),
)
WRAPPED = ("wrap", "text_wrap")

# The ledger view's columns (keys of queries.Row and the ledger's own), as an export writes them.
VIEW_COLUMNS: dict[str, ExportColumn] = {c.key: c for c in (
    ExportColumn("code", "编码", 24, "text"),
    ExportColumn("received", "受理日期", 11.5, "date"),
    ExportColumn("petitioner", "反映人", 10, "wrap"),
    ExportColumn("phone", "联系方式", 14, "text"),
    ExportColumn("address", "住址", 22, "wrap"),
    ExportColumn("village", "村(社区)", 11, "wrap"),
    ExportColumn("type", "类型", 7, "centre"),
    ExportColumn("category", "类别", 24, "wrap"),
    ExportColumn("channel", "来源", 11, "wrap"),
    ExportColumn("content", "内容", 44, "wrap"),
    ExportColumn("unit", "责任单位", 18, "wrap"),
    ExportColumn("status", "状态", 8, "centre"),
    ExportColumn("deadline", "办理时限", 11.5, "date"),
    ExportColumn("remaining", "剩余工作日", 11, "centre"),
    ExportColumn("clock", "时限状态", 9, "centre"),
    ExportColumn("satisfaction", "满意度", 8, "centre"),
    ExportColumn("closed", "办结日期", 11.5, "date"),
)}


@dataclass
class ExportResult:
    path: Path
    rows: int
    sheets: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"已导出 {self.rows} 条到 {self.path}"


# -- helpers -------------------------------------------------------------------------------------


class _AtomicTarget:
    """Write to a temporary file beside the target; rename on success, remove on failure."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.tmp = self.target.with_name(f".{self.target.stem}.{os.getpid()}.part{self.target.suffix}")

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name (Excel: at most 31 characters, none of []:*?/\\)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "Sheet"
    base = base[:SHEET_NAME_MAX]
    title, n = base, 2
    while title.lower() in {t.lower() for t in taken}:
        suffix = f"({n})"
        title = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    taken.add(title)
    return title


def _category_parts(session: Session) -> dict[int, list[str]]:
    rows = {cid: (parent, name) for cid, parent, name in
            session.execute(sa.select(Category.id, Category.parent_id, Category.name))}
    out: dict[int, list[str]] = {}
    for cid in rows:
        parts: list[str] = []
        node: int | None = cid
        while node is not None and node in rows and len(parts) < 10:
            parent, name = rows[node]
            parts.append(name)
            node = parent
        out[cid] = list(reversed(parts))
    return out


def period_text(start: date | None, end: date | None) -> str:
    """2025年3月 for a whole month, else 2025-03-01 至 2025-03-15 (or 全部)."""
    if start and end:
        whole_month = (start.day == 1 and (start.year, start.month) == (end.year, end.month)
                       and (end + timedelta(days=1)).day == 1)
        if whole_month:
            return f"{start.year}年{start.month}月"
        return f"{start.isoformat()} 至 {end.isoformat()}"
    if start:
        return f"{start.isoformat()} 起"
    if end:
        return f"截至 {end.isoformat()}"
    return "全部"


def _setup_sheet(ws: Any, columns: tuple[ExportColumn, ...] | list[ExportColumn], header_rows: int,
                 title_rows: int = 2) -> None:
    """Widths, frozen header, A4 landscape fitted to the page width, header repeated on every page."""
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    first_data = title_rows + header_rows + 1
    ws.freeze_panes = f"A{first_data}"
    ws.print_title_rows = f"{title_rows + 1}:{title_rows + header_rows}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = 0.6
    ws.page_margins.bottom = 0.7
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9


def _write_title(ws: Any, kit: StyleKit, width: int, title: str, subtitle: str) -> None:
    ws.row_dimensions[1].height = 30
    ws.append([kit.cell(ws, title, "title")])
    ws.append([kit.cell(ws, subtitle, "subtitle")])
    last = get_column_letter(width)
    ws.merged_cells.add(f"A1:{last}1")
    ws.merged_cells.add(f"A2:{last}2")


def _write_header(ws: Any, kit: StyleKit, columns: tuple[ExportColumn, ...] | list[ExportColumn], top: int) -> int:
    """One header row, or two when some columns share a group title. Returns the rows used."""
    if not any(c.group for c in columns):
        ws.append([kit.cell(ws, c.title, "header") for c in columns])
        return 1
    first = [kit.cell(ws, c.group or c.title, "header") for c in columns]
    second = [kit.cell(ws, c.title if c.group else None, "header") for c in columns]
    ws.append(first)
    ws.append(second)
    i = 0
    while i < len(columns):
        col = columns[i]
        letter = get_column_letter(i + 1)
        if col.group:
            j = i
            while j + 1 < len(columns) and columns[j + 1].group == col.group:
                j += 1
            ws.merged_cells.add(f"{letter}{top}:{get_column_letter(j + 1)}{top}")
            i = j + 1
        else:
            ws.merged_cells.add(f"{letter}{top}:{letter}{top + 1}")
            i += 1
    return 2


# -- the district ledger ----------------------------------------------------------------------------


def _ledger_select(where: list[Any]) -> sa.Select:
    return (
        sa.select(Demand.id, Demand.code, Demand.received_on, Demand.type, Demand.category_id, Demand.content,
                  Demand.remarks, Demand.status, Demand.deadline, Demand.closed_on, Demand.satisfaction,
                  Petitioner.name, Petitioner.phone, Petitioner.address, Village.name, Unit.name, Channel.name)
        .outerjoin(Petitioner, Petitioner.id == Demand.petitioner_id)
        .outerjoin(Village, Village.id == Demand.village_id)
        .outerjoin(Unit, Unit.id == Demand.unit_id)
        .outerjoin(Channel, Channel.id == Demand.channel_id)
        .where(*where)
        .order_by(Demand.received_on, Demand.id)
    )


def _ledger_rows(session: Session, where: list[Any]) -> Iterator[dict[str, Any]]:
    cats = _category_parts(session)
    q = _ledger_select(where).execution_options(yield_per=YIELD_PER)
    for (_id, code, received, dtype, category_id, content, remarks, status, deadline, closed, satisfaction,
         name, phone, address, village, unit, channel) in session.execute(q):
        parts = cats.get(category_id, []) if category_id else []
        yield {
            "petitioner": name or "", "address": address or "", "phone": format_phone(phone) if phone else "",
            "type": dtype.label, "category1": parts[0] if parts else "",
            "category2": parts[1] if len(parts) > 1 else "", "category3": "›".join(parts[2:]),
            "channel": channel or "", "content": content, "unit": unit or "", "remarks": remarks or "",
            "code": code, "received": received, "deadline": deadline, "status": status.label,
            "closed": closed, "satisfaction": satisfaction.label if satisfaction else "", "village": village or "",
        }


def _write_ledger_sheet(ws: Any, kit: StyleKit, session: Session, where: list[Any], title: str, subtitle: str,
                        ticker: Ticker, done: int) -> int:
    """One sheet in the district layout; returns the running count of rows written."""
    columns = DISTRICT_COLUMNS
    _setup_sheet(ws, columns, header_rows=2)
    _write_title(ws, kit, len(columns), title, subtitle)
    _write_header(ws, kit, columns, HEADER_TOP)
    n = 0
    first = HEADER_TOP + 2
    for values in _ledger_rows(session, where):
        n += 1
        values["seq"] = n
        _append(ws, kit, columns, [values.get(col.key) for col in columns], first + n - 1)
        done += 1
        ticker.tick(done)
    last_row = HEADER_TOP + 1 + n
    ws.auto_filter.ref = f"A{HEADER_TOP + 1}:{get_column_letter(len(columns))}{max(last_row, HEADER_TOP + 1)}"
    return done


def _append(ws: Any, kit: StyleKit, columns: tuple[ExportColumn, ...] | list[ExportColumn], values: list[Any],
            row_idx: int) -> None:
    """One data row, tall enough for its wrapped text (the height is dropped once written)."""
    height = row_height([(c.width, v) for c, v in zip(columns, values, strict=True)
                         if c.style in WRAPPED and isinstance(v, str)])
    if height is not None:
        ws.row_dimensions[row_idx].height = height
    ws.append([_cell(ws, kit, c, v) for c, v in zip(columns, values, strict=True)])
    if height is not None:
        del ws.row_dimensions[row_idx]


def _cell(ws: Any, kit: StyleKit, col: ExportColumn, value: Any) -> Any:
    if value is None or value == "":
        return kit.cell(ws, None, "body" if col.style in ("text", "text_wrap", "date") else col.style)
    if col.style in ("text", "text_wrap"):
        return kit.text(ws, str(value), col.style)
    return kit.cell(ws, value, col.style)


def count_where(session: Session, where: list[Any]) -> int:
    return session.scalar(sa.select(sa.func.count(Demand.id)).where(*where)) or 0


def export_ledger(db: Database, out: Path, f: DemandFilter | None = None, *, title: str = "",
                  progress: Progress | None = None, cancelled: CancelFlag | None = None,
                  today: date | None = None) -> ExportResult:
    """The demands a filter selects, oldest first, in the district ledger layout."""
    f = f or DemandFilter()
    out = Path(out)
    with db.read() as session, _AtomicTarget(out) as tmp:
        town = township(session)
        where = queries.conditions(session, f, today)
        total = count_where(session, where)
        ticker = Ticker(progress, cancelled, total, "导出台账")
        ticker.tick(0, force=True)
        book = Workbook(write_only=True)
        ws = book.create_sheet("台账")
        kit = StyleKit(ws)
        period = period_text(f.received_from, f.received_to)
        heading = title or f"{town.name}群众诉求排查台账"
        subtitle = f"受理日期：{period}　　共 {total} 件　　导出时间：{datetime.now():%Y-%m-%d %H:%M}"
        done = _write_ledger_sheet(ws, kit, session, where, f"{heading}（{period}）", subtitle, ticker, 0)
        ticker.tick(done, force=True)
        book.save(tmp)
    return ExportResult(out, done, ["台账"])


# -- 一村一档 ---------------------------------------------------------------------------------------------


def _summary_columns() -> list[ExportColumn]:
    cols = [ExportColumn("label", "村(社区)", 16, "wrap"), ExportColumn("received", "受理", 7, "int"),
            ExportColumn("valid", "有效", 7, "int")]
    for key, (title, _fn) in rates.RATES.items():
        cols += [ExportColumn(f"{key}.n", "分子", 7, "int", title), ExportColumn(f"{key}.d", "分母", 7, "int", title),
                 ExportColumn(f"{key}.r", "比率", 9, "percent", title)]
    return cols


def _summary_values(row: rates.StatsRow, label: str) -> dict[str, Any]:
    values: dict[str, Any] = {"label": label, "received": row.received, "valid": row.valid}
    for key, ratio in row.rates.items():
        values[f"{key}.n"] = ratio.numerator
        values[f"{key}.d"] = ratio.denominator
        values[f"{key}.r"] = ratio.value if ratio.value is not None else "—"
    return values


def export_villages(db: Database, out: Path, period: rates.Period, village_ids: list[int] | None = None, *,
                    progress: Progress | None = None, cancelled: CancelFlag | None = None) -> ExportResult:
    """一村一档: a summary sheet with each village's counts and rates, then one sheet per village.

    The summary's figures come from ``app.services.rates`` for the same period, so they
    agree with every other report to the digit; each village sheet lists the demands
    received in the period in the district layout. Demands without a village get a
    sheet of their own when there are any (and no villages were chosen).
    """
    out = Path(out)
    with db.read() as session, _AtomicTarget(out) as tmp:
        town = township(session)
        villages = session.execute(sa.select(Village.id, Village.name).order_by(Village.sort, Village.id)).all()
        if village_ids:
            villages = [v for v in villages if v.id in set(village_ids)]
        in_period = [Demand.received_on.between(period.start, period.end)]
        groups: list[tuple[int | None, str]] = [(v.id, v.name) for v in villages]
        if not village_ids and count_where(session, [*in_period, Demand.village_id.is_(None)]):
            groups.append((None, "未归属村(社区)"))

        def where_of(vid: int | None) -> list[Any]:
            return [*in_period, Demand.village_id.is_(None) if vid is None else Demand.village_id == vid]

        scope = [Demand.village_id.in_([v.id for v in villages])] if village_ids else []
        total = count_where(session, [*in_period, *scope]) if village_ids else count_where(session, in_period)
        ticker = Ticker(progress, cancelled, total, "导出一村一档")
        ticker.tick(0, force=True)

        book = Workbook(write_only=True)
        taken: set[str] = set()
        summary = book.create_sheet(sheet_title("汇总", taken))
        kit = StyleKit(summary)
        by_village = {r.key: r for r in rates.stats(session, period, "village", scope)}
        overall = rates.stats(session, period, None, scope)[0]
        columns = _summary_columns()
        _setup_sheet(summary, columns, header_rows=2)
        summary.freeze_panes = "B5"
        label = period_text(period.start, period.end)
        _write_title(summary, kit, len(columns), f"{town.name}一村一档汇总（{label}）",
                     f"统计期：{period.label}　　口径见表下说明　　导出时间：{datetime.now():%Y-%m-%d %H:%M}")
        _write_header(summary, kit, columns, HEADER_TOP)
        empty = rates.StatsRow(None, "", 0, 0, {k: rates.Ratio(0, 0) for k in rates.RATES})
        for vid, name in groups:
            values = _summary_values(by_village.get(vid, empty), name)
            summary.append([_cell(summary, kit, c, values.get(c.key)) for c in columns])
        values = _summary_values(overall, "合计")
        summary.append([_cell(summary, kit, c, values.get(c.key)) for c in columns])
        summary.append([])
        for text in ["口径：", *rates.DEFINITIONS.values()]:
            summary.append([kit.cell(summary, text, "note")])
        sheets = ["汇总"]

        done = 0
        for vid, name in groups:
            ws = book.create_sheet(sheet_title(name, taken))
            n = count_where(session, where_of(vid))
            subtitle = f"受理日期：{period.label}　　共 {n} 件　　{town.name}"
            done = _write_ledger_sheet(ws, kit, session, where_of(vid), f"{name}诉求台账（{label}）", subtitle,
                                       ticker, done)
            sheets.append(ws.title)
        ticker.tick(done, force=True)
        book.save(tmp)
    return ExportResult(out, done, sheets)


# -- the ledger view as shown --------------------------------------------------------------------------------


def view_value(row: Row, key: str) -> Any:
    if key == "remaining":
        return remaining_text(row)
    if key == "phone":
        return format_phone(row.phone) if row.phone else ""
    return getattr(row, key)


def export_view(db: Database, out: Path, f: DemandFilter | None, columns: list[str], *, sort: str = "received",
                descending: bool = True, title: str = "诉求台账", note: str = "",
                progress: Progress | None = None, cancelled: CancelFlag | None = None,
                today: date | None = None) -> ExportResult:
    """What the ledger view shows: its filter, its visible columns in order, its sort order."""
    cols = [VIEW_COLUMNS[k] for k in columns if k in VIEW_COLUMNS]
    if not cols:
        cols = list(VIEW_COLUMNS.values())
    f = f or DemandFilter()
    today = today or date.today()
    out = Path(out)
    with db.read() as session, _AtomicTarget(out) as tmp:
        cal = load_calendar(session)
        where = queries.conditions(session, f, today, cal)
        total = count_where(session, where)
        ticker = Ticker(progress, cancelled, total, "导出台账")
        ticker.tick(0, force=True)
        paths = queries.category_paths(session)
        due_soon = int(settings.get(session, "due_soon_days"))
        order = queries.SORT_COLUMNS[sort]
        q = queries.row_query(where).order_by(order.desc() if descending else order.asc(),
                                              Demand.id.desc() if descending else Demand.id)
        book = Workbook(write_only=True)
        ws = book.create_sheet("台账")
        kit = StyleKit(ws)
        _setup_sheet(ws, cols, header_rows=1)
        subtitle = f"{note}　　共 {total} 件　　导出时间：{datetime.now():%Y-%m-%d %H:%M}".strip()
        _write_title(ws, kit, len(cols), title, subtitle)
        _write_header(ws, kit, cols, HEADER_TOP)
        done = 0
        for r in session.execute(q.execution_options(yield_per=YIELD_PER)):
            row = queries.to_row(r, paths, cal, today, due_soon)
            _append(ws, kit, cols, [view_value(row, c.key) for c in cols], HEADER_TOP + 1 + done)
            done += 1
            ticker.tick(done)
        ws.auto_filter.ref = f"A{HEADER_TOP}:{get_column_letter(len(cols))}{HEADER_TOP + max(done, 1)}"
        ticker.tick(done, force=True)
        book.save(tmp)
    return ExportResult(out, done, ["台账"])

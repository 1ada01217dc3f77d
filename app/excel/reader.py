"""Reading spreadsheets into plain rows: .xlsx/.xlsm/.xls/.ods through calamine, .csv/.txt by hand.

Every sheet becomes a ``RawSheet``: its rows from the sheet's first row (so index + 1 is
the row number the user sees in Excel), each cell as calamine gives it (str, int, float,
bool, date, datetime, time; empty cells are ``""``), and its merged ranges. CSV files are
decoded as UTF-8 (with or without BOM), else as GB18030 (a superset of GBK and GB2312).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import DomainError

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
SUPPORTED = WORKBOOK_SUFFIXES + TEXT_SUFFIXES
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class ReadError(DomainError):
    """The file cannot be read (missing, damaged, encrypted, unknown format)."""


@dataclass(frozen=True)
class Merge:
    """A merged range, 0-based and inclusive."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int

    def covers(self, row: int, col: int) -> bool:
        return self.first_row <= row <= self.last_row and self.first_col <= col <= self.last_col


@dataclass
class RawSheet:
    name: str
    rows: list[list[Any]]
    merges: list[Merge] = field(default_factory=list)
    hidden: bool = False

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def cell(self, row: int, col: int) -> Any:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return ""

    def merged_value(self, row: int, col: int) -> Any:
        """The value shown at (row, col): a merged range's cells all show its top-left value."""
        for m in self.merges:
            if m.covers(row, col):
                return self.cell(m.first_row, m.first_col)
        return self.cell(row, col)

    def merge_at(self, row: int, col: int) -> Merge | None:
        for m in self.merges:
            if m.covers(row, col):
                return m
        return None


def sheet_names(path: Path) -> list[str]:
    """Names of the visible sheets (a CSV file has one, named after the file)."""
    return [s.name for s in read(path, names_only=True) if not s.hidden]


def read(path: Path, sheets: list[str] | None = None, *, names_only: bool = False) -> list[RawSheet]:
    """Read the named sheets (all visible ones when ``sheets`` is None)."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        sheet = RawSheet(path.stem, [] if names_only else read_csv(path))
        if sheets and not set(sheets) & {path.stem, path.name}:
            raise ReadError(f"CSV 文件只有一个表“{path.stem}”，没有“{'、'.join(sheets)}”")
        return [sheet]
    if suffix not in WORKBOOK_SUFFIXES:
        raise ReadError(f"不支持的文件类型“{path.suffix}”：请选择 .xlsx、.xls 或 .csv 文件")
    return _read_workbook(path, sheets, names_only)


def _read_workbook(path: Path, wanted: list[str] | None, names_only: bool) -> list[RawSheet]:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own errors for damaged or encrypted files
        raise ReadError(f"无法读取“{path.name}”：文件已损坏、加密或不是表格文件（{exc}）") from exc
    try:
        meta = {m.name: m for m in book.sheets_metadata}
        names = list(book.sheet_names)
        if wanted:
            missing = [n for n in wanted if n not in names]
            if missing:
                raise ReadError(f"“{path.name}”中没有工作表“{'、'.join(missing)}”；现有：{'、'.join(names)}")
            names = [n for n in names if n in wanted]
        out: list[RawSheet] = []
        for name in names:
            m = meta.get(name)
            hidden = m is not None and m.visible != SheetVisibleEnum.Visible
            if m is not None and str(m.typ).rsplit(".", 1)[-1] not in ("WorkSheet", "Worksheet"):
                continue  # chart sheets and the like hold no rows
            if names_only:
                out.append(RawSheet(name, [], hidden=hidden))
                continue
            if hidden and not wanted:
                continue
            sheet = book.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
            merges = [Merge(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])]
            out.append(RawSheet(name, [list(r) for r in rows], merges, hidden))
        return out
    finally:
        book.close()


def decode_text(data: bytes) -> str:
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReadError("无法识别文本文件的编码：请另存为 UTF-8 或 GBK 编码的 CSV")


def read_csv(path: Path) -> list[list[Any]]:
    text = decode_text(path.read_bytes())
    delimiter = guess_delimiter(text)
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def guess_delimiter(text: str) -> str:
    """Comma, tab or semicolon: the one found most often on the fullest of the first lines."""
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    best, best_count = ",", 0
    for delimiter in (",", "\t", ";"):
        counts = sorted(ln.count(delimiter) for ln in lines)
        typical = counts[len(counts) // 2] if counts else 0
        if typical > best_count:
            best, best_count = delimiter, typical
    return best

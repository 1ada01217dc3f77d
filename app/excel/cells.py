"""Cells as the exports write them: text that cannot turn into a formula or a number.

A value starting with ``= + - @`` (or a tab or carriage return) would be read by Excel
or WPS as a formula when typed or pasted; such values are written as text cells with
Excel's quote-prefix flag, so they are shown as they are and never evaluated. Phone
numbers and case numbers are always text cells with the text number format ``@``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from copy import copy
from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from app.errors import DomainError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.00%"
FONT_NAME = "宋体"
# Characters XML 1.0 (and so .xlsx) cannot hold; openpyxl refuses them.
_ILLEGAL = {i: None for i in (*range(0, 9), 11, 12, *range(14, 32))}


class Cancelled(DomainError):
    """The user cancelled a long import or export; nothing was written."""

    def __init__(self, message: str = "已取消，未写入任何内容") -> None:
        super().__init__(message)


Progress = Callable[[int, int, str], None]  # (done, total, text); may raise to cancel
CancelFlag = Callable[[], bool]


class Ticker:
    """Calls ``progress`` every ``every`` items and checks the cancel flag as often."""

    def __init__(self, progress: Progress | None, cancelled: CancelFlag | None, total: int, text: str,
                 every: int = 500) -> None:
        self.progress, self.cancelled, self.total, self.text, self.every = progress, cancelled, total, text, every

    def tick(self, done: int, force: bool = False) -> None:
        if not force and done % self.every:
            return
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()
        if self.progress is not None:
            self.progress(done, self.total, self.text)


LINE_HEIGHT = 13.0  # points per line of 10-point text
MAX_LINES = 24  # Excel's rows stop at 409 points


def text_width(text: str) -> float:
    """Width in Excel's column units (a ``0`` of the default font): a CJK character of
    10-point 宋体 takes about 1.9, anything else about one."""
    return sum(1.9 if ord(ch) >= 0x2E80 else 1.0 for ch in text)


def lines_needed(text: str, width: float) -> int:
    usable = max(width - 1.0, 1.0)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in text.split("\n"))


def row_height(cells: list[tuple[float, str]]) -> float | None:
    """The height a row needs so wrapped text shows whole, or None for one line.

    Excel fits rows to wrapped text by itself, but LibreOffice and WPS keep the default
    height for streamed files, so the height is written into the file.
    """
    lines = max((lines_needed(text, width) for width, text in cells if text), default=1)
    if lines <= 1:
        return None
    return min(lines, MAX_LINES) * LINE_HEIGHT + 3


def needs_escape(text: str) -> bool:
    return text.startswith(FORMULA_START)


def clean_text(value: str) -> str:
    return value.translate(_ILLEGAL)


def thin_border() -> Border:
    side = Side(style="thin", color="808080")
    return Border(left=side, right=side, top=side, bottom=side)


class StyleKit:
    """The few cell styles an export uses, each built once and copied onto every cell.

    Giving a cell a ready style array is much faster than assigning fonts, borders and
    alignments cell by cell, which matters for 200,000-row streaming exports. Cells made
    here are written and dropped at once (write-only mode), so they share the arrays;
    ``set_text`` is the helper for ordinary worksheets.
    """

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet  # any sheet of the workbook: styles are registered workbook-wide
        border = thin_border()
        body_font = Font(name=FONT_NAME, size=10)
        top = Alignment(vertical="top")
        wrap = Alignment(vertical="top", wrap_text=True)
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.styles = {
            "body": self._make(font=body_font, border=border, alignment=top),
            "wrap": self._make(font=body_font, border=border, alignment=wrap),
            "centre": self._make(font=body_font, border=border, alignment=Alignment(horizontal="center",
                                                                                    vertical="top")),
            "text": self._make(font=body_font, border=border, alignment=top, number_format=TEXT_FORMAT),
            "text_wrap": self._make(font=body_font, border=border, alignment=wrap, number_format=TEXT_FORMAT),
            "date": self._make(font=body_font, border=border, alignment=Alignment(horizontal="center",
                                                                                  vertical="top"),
                               number_format=DATE_FORMAT),
            "int": self._make(font=body_font, border=border, alignment=Alignment(horizontal="right", vertical="top")),
            "percent": self._make(font=body_font, border=border, alignment=Alignment(horizontal="right",
                                                                                     vertical="top"),
                                  number_format=PERCENT_FORMAT),
            "header": self._make(font=Font(name=FONT_NAME, size=10, bold=True), border=border, alignment=centre,
                                 fill=PatternFill("solid", fgColor="D9E1F2")),
            "title": self._make(font=Font(name=FONT_NAME, size=16, bold=True),
                                alignment=Alignment(horizontal="center", vertical="center")),
            "subtitle": self._make(font=Font(name=FONT_NAME, size=10),
                                   alignment=Alignment(horizontal="left", vertical="center")),
            "note": self._make(font=Font(name=FONT_NAME, size=9, color="595959"),
                               alignment=Alignment(vertical="top", wrap_text=False)),
        }
        self.escaped = {name: self._escaped(arr) for name, arr in self.styles.items()}

    def _make(self, **attrs: Any) -> Any:
        probe = WriteOnlyCell(self.sheet)
        for key, value in attrs.items():
            setattr(probe, key, value)
        return copy(probe._style)

    def _escaped(self, arr: Any) -> Any:
        probe = WriteOnlyCell(self.sheet)
        probe._style = copy(arr)
        probe.quotePrefix = True
        probe.number_format = TEXT_FORMAT
        return copy(probe._style)

    def cell(self, ws: Any, value: Any, style: str = "body") -> WriteOnlyCell:
        """A ready cell: text escaped where needed, dates as dates, everything else as given."""
        c = WriteOnlyCell(ws)
        if isinstance(value, str):
            value = clean_text(value)
            c.value = value
            if needs_escape(value):
                c.data_type = "s"
                c._style = self.escaped[style]
                return c
        else:
            c.value = value
        c._style = self.styles[style]
        return c

    def text(self, ws: Any, value: str, style: str = "text") -> WriteOnlyCell:
        """Always a text cell (phone numbers, case numbers): never a number, never a formula."""
        c = WriteOnlyCell(ws)
        c.value = clean_text(value)
        c.data_type = "s"
        c._style = self.escaped[style] if needs_escape(value) else self.styles[style]
        return c


def set_text(cell: Cell, value: Any) -> None:
    """Put a value into a normal (not write-only) cell, escaping formula-like text."""
    if isinstance(value, str):
        value = clean_text(value)
        cell.value = value
        if needs_escape(value):
            cell.data_type = "s"
            cell.quotePrefix = True
    else:
        cell.value = value

"""The page every document shares: A4, header with the case number (or the report's
period), footer "第 N 页 共 M 页" with the generation date, the 未办结（草稿） mark.

``build`` runs the story as often as needed (at most ``MAX_PASSES``) until the page numbers
recorded by ``Mark`` flowables stop changing, so a table of contents and the cover's page
count always agree with the pages printed.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from app.reports.fonts import fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = 28 * mm  # binding edge (装订线) of archived paper
MARGIN_RIGHT = 20 * mm
MARGIN_TOP = 25 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
FRAME_HEIGHT = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
MAX_PASSES = 4
DRAFT_TEXT = "未办结（草稿）"
RULE_COLOR = HexColor("#555555")
DRAFT_COLOR = Color(0.75, 0.1, 0.1)
PRODUCER = "快处台账"
# ReportLab keeps per-document state inside the shared font objects: one document at a time.
_render_lock = threading.Lock()


@dataclass
class PageSetup:
    """What the header and footer of every page say."""

    title: str  # the document's name, left of the header
    center: str  # the center's name, left of the header
    case_no: str | None = None  # "案件编号：…" right of the header
    right: str | None = None  # else this (e.g. the period of a report)
    generated: date = field(default_factory=date.today)
    draft: bool = False
    author: str = ""


class Mark(Flowable):
    """Records the page it lands on under ``key`` (for tables of contents)."""

    def __init__(self, key: str, pages: dict[str, int]) -> None:
        super().__init__()
        self.key, self.pages = key, pages
        self.width = self.height = 0

    def wrap(self, _aw: float, _ah: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.pages.setdefault(self.key, self.canv.getPageNumber())


def _decorate(canv: Canvas, setup: PageSetup, page: int, total: int) -> None:
    fs = fonts()
    font = fs.role_font["table"]
    canv.saveState()
    top = PAGE_HEIGHT - MARGIN_TOP + 8 * mm
    left_text = f"{setup.center}　{setup.title}".strip("　")
    fs.draw(canv, MARGIN_LEFT, top, left_text, font, 9)
    right = f"案件编号：{setup.case_no}" if setup.case_no else (setup.right or "")
    if setup.draft:
        right = f"{right}　{DRAFT_TEXT}".strip("　")
    fs.draw(canv, PAGE_WIDTH - MARGIN_RIGHT, top, right, font, 9 if not setup.case_no else 10, align="right")
    canv.setStrokeColor(RULE_COLOR)
    canv.setLineWidth(0.6)
    canv.line(MARGIN_LEFT, top - 2.5 * mm, PAGE_WIDTH - MARGIN_RIGHT, top - 2.5 * mm)
    bottom = MARGIN_BOTTOM - 12 * mm
    canv.line(MARGIN_LEFT, bottom + 5 * mm, PAGE_WIDTH - MARGIN_RIGHT, bottom + 5 * mm)
    fs.draw(canv, PAGE_WIDTH / 2 + (MARGIN_LEFT - MARGIN_RIGHT) / 2, bottom, f"第 {page} 页 共 {total} 页",
            font, 10, align="center")
    fs.draw(canv, PAGE_WIDTH - MARGIN_RIGHT, bottom, f"生成日期：{setup.generated.isoformat()}", font, 8,
            align="right")
    if setup.draft:
        canv.setFillColor(DRAFT_COLOR)
        canv.setFillAlpha(0.13)
        canv.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canv.rotate(35)
        fs.draw(canv, 0, 0, DRAFT_TEXT, fs.role_font["title"], 64, align="center")
    canv.restoreState()


def canvas_class(setup: PageSetup, result: dict[str, int]) -> type[Canvas]:
    """A canvas that holds its pages until ``save`` so each footer can say the total."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("initialFontName", fonts().role_font["body"])
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                _decorate(self, setup, number, total)
                super().showPage()
            result["pages"] = total
            super().save()

    return NumberedCanvas


@dataclass
class Built:
    data: bytes
    pages: int
    marks: dict[str, int]


StoryMaker = Callable[[dict[str, int], int, dict[str, int]], list[Flowable]]


def render(make_story: StoryMaker, setup: PageSetup, repeat: bool = False) -> Built:
    """Build the document in memory (with ``repeat``, until its page numbers are stable).

    ``make_story(known, total, marks)`` returns the flowables: ``known`` are the pages
    recorded in the previous pass (empty in the first), ``total`` its page count (0 at
    first), ``marks`` the dict this pass's ``Mark`` flowables must write into.
    """
    with _render_lock:
        return _render(make_story, setup, repeat)


def _render(make_story: StoryMaker, setup: PageSetup, repeat: bool) -> Built:
    known: dict[str, int] = {}
    total = 0
    for _ in range(MAX_PASSES):
        marks: dict[str, int] = {}
        result: dict[str, int] = {}
        buf = io.BytesIO()
        doc = BaseDocTemplate(
            buf, pagesize=A4, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT, topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM, title=f"{setup.title} {setup.case_no or setup.right or ''}".strip(),
            author=setup.author or setup.center, subject=setup.title, creator=PRODUCER, producer=PRODUCER,
            initialFontName=fonts().role_font["body"],
        )
        frame = Frame(MARGIN_LEFT, MARGIN_BOTTOM, FRAME_WIDTH, FRAME_HEIGHT, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        doc.build(make_story(known, total, marks), canvasmaker=canvas_class(setup, result))
        pages = result.get("pages", 0)
        if not repeat or (marks == known and pages == total):
            break
        known, total = marks, pages
    return Built(buf.getvalue(), pages, marks)


def write(data: bytes, out: Path) -> Path:
    """Write a finished PDF atomically (a viewer never sees half a file)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out

"""Fonts and text styles of every PDF the program makes: the ONE place they are defined.

Three roles, each with one font: titles (标题), body text (正文) and tables (表格). When the
PC has the government faces (黑体 ``simhei.ttf``, 仿宋 ``simfang.ttf``, 宋体 ``simsun.ttc``)
they are used; otherwise, and whenever ``KUAICHU_PDF_FONT=bundled``, every role uses the
bundled WenQuanYi Micro Hei (``resources/fonts``). ``KUAICHU_PDF_FONT`` may also name one
TrueType file (``PATH`` or ``PATH,INDEX`` for a collection) to use for every role.

A character the role's font lacks (䶮 is in CJK Extension A, which WenQuanYi lacks; 仿宋
covers only GB 2312) is written in the next font of its fallback chain: the bundled
WenQuanYi, the bundled Hanazono Extension-A subset, then extension fonts found on the PC
(SimSun-ExtB, HanaMinB, BabelStone Han). A character no font has is printed as 〓 (the
printers' mark for a missing character) and logged, never as an empty box. Every font is
embedded as a subset.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor, black
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import TableStyle

from app import paths

log = logging.getLogger(__name__)

ENV_FONT = "KUAICHU_PDF_FONT"
FONTS_DIR = paths.RESOURCES / "fonts"
BUNDLED_MAIN = FONTS_DIR / "WenQuanYiMicroHei-subset.ttf"
BUNDLED_EXT_A = FONTS_DIR / "HanaMinA-ExtA-subset.ttf"
MISSING_MARK = "〓"

# Government faces by role, as file names found in the system font folders.
GOVERNMENT_FACES = {
    "title": ("simhei.ttf", "fzxbsjw.ttf", "simsun.ttc"),
    "body": ("simfang.ttf", "fs_gb2312.ttf", "simsun.ttc"),
    "table": ("simsun.ttc", "simsun.ttf", "simfang.ttf"),
}
# Fonts with the rarer CJK extensions, used only for characters the others lack.
EXTENSION_FACES = ("simsunb.ttf", "sun-extb.ttf", "hanaminb.ttf", "babelstonehan.ttf")
ROLES = ("title", "body", "table")


@dataclass(frozen=True)
class FontFile:
    path: Path
    index: int = 0

    @property
    def key(self) -> str:
        return f"{self.path.resolve()}#{self.index}"


def system_font_dirs() -> list[Path]:
    if sys.platform.startswith("win"):
        windir = Path(os.environ.get("WINDIR", r"C:\Windows"))
        dirs = [windir / "Fonts"]
        local = os.environ.get("LOCALAPPDATA")
        if local:
            dirs.append(Path(local) / "Microsoft" / "Windows" / "Fonts")
        return dirs
    home = Path.home()
    return [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), home / ".local/share/fonts",
            home / ".fonts", Path("/Library/Fonts"), home / "Library/Fonts"]


def _index_system_fonts() -> dict[str, Path]:
    """Lower-case file name → path of every TrueType file in the system font folders."""
    found: dict[str, Path] = {}
    for root in system_font_dirs():
        if not root.is_dir():
            continue
        try:
            for dirpath, _dirs, files in os.walk(root):
                for name in files:
                    low = name.lower()
                    if low.endswith((".ttf", ".ttc")) and low not in found:
                        found[low] = Path(dirpath) / name
        except OSError:
            continue
    return found


class FontSet:
    """The registered fonts: one per role, the fallback chain, and each font's character set."""

    def __init__(self) -> None:
        self.role_font: dict[str, str] = {}
        self.chain: dict[str, list[str]] = {}
        self.cmaps: dict[str, frozenset[int]] = {}
        self.files: dict[str, FontFile] = {}
        self._by_key: dict[str, str] = {}
        self._warned: set[str] = set()

    # -- registration -----------------------------------------------------------------

    def register(self, file: FontFile, name: str) -> str | None:
        """Register a TrueType font under ``name``; None when ReportLab cannot embed it."""
        if file.key in self._by_key:
            return self._by_key[file.key]
        try:
            font = TTFont(name, str(file.path), subfontIndex=file.index)
        except Exception as exc:  # unreadable file, CFF outlines, or embedding not permitted
            log.warning("font %s unusable for PDF: %s", file.path, exc)
            return None
        pdfmetrics.registerFont(font)
        # CJK faces have no bold or italic: <b> and <i> use the same face.
        pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
        self.cmaps[name] = frozenset(font.face.charToGlyph)
        self.files[name] = file
        self._by_key[file.key] = name
        return name

    @classmethod
    def load(cls, choice: str | None = None) -> FontSet:
        """Find and register the fonts; ``choice`` as ``KUAICHU_PDF_FONT`` (default: auto)."""
        choice = (choice if choice is not None else os.environ.get(ENV_FONT, "")).strip()
        fs = cls()
        main = fs.register(FontFile(BUNDLED_MAIN), "KuaichuSans")
        ext_a = fs.register(FontFile(BUNDLED_EXT_A), "KuaichuExtA")
        if main is None or ext_a is None:
            raise RuntimeError(f"缺少程序自带字体：{FONTS_DIR}")
        system = {} if choice.lower() == "bundled" else _index_system_fonts()
        explicit: str | None = None
        if choice and choice.lower() not in ("bundled", "auto", "system"):
            path, _, index = choice.partition(",")
            explicit = fs.register(FontFile(Path(path).expanduser(), int(index or 0)), "KuaichuCustom")
            if explicit is None:
                log.warning("%s=%s is not a usable TrueType font; using the defaults", ENV_FONT, choice)
        extensions = [n for n in (fs.register(FontFile(system[f]), f"KuaichuExt{i}")
                                  for i, f in enumerate(EXTENSION_FACES) if f in system) if n]
        for role in ROLES:
            name = explicit
            if name is None:
                for i, face in enumerate(GOVERNMENT_FACES[role]):
                    if face in system:
                        name = fs.register(FontFile(system[face]), f"KuaichuGov{role.title()}{i}")
                        if name:
                            break
            name = name or main
            fs.role_font[role] = name
        for name in {*fs.role_font.values(), main, ext_a}:
            fs.chain[name] = list(dict.fromkeys([name, main, ext_a, *extensions]))
        for name in extensions:
            fs.chain[name] = list(dict.fromkeys([name, main, ext_a, *extensions]))
        # Charts start from ReportLab's graphics defaults: make them name an embedded font
        # (else every chart pulls in the non-embedded Helvetica).
        from reportlab.graphics import shapes

        shapes.STATE_DEFAULTS["fontName"] = fs.role_font["table"]
        return fs

    # -- per-character fallback -----------------------------------------------------------

    def covers(self, font: str, char: str) -> bool:
        return ord(char) in self.cmaps[font]

    def font_for(self, font: str, char: str) -> str | None:
        for name in self.chain.get(font, [font]):
            if ord(char) in self.cmaps[name]:
                return name
        return None

    def runs(self, text: str, font: str) -> Iterator[tuple[str, str]]:
        """Split text into (font, run) pieces, each run written in a font that has it."""
        cmap = self.cmaps[font]
        if all(ord(c) in cmap or c in "\n\r\t" for c in text):
            yield font, text
            return
        cur_font, buf = font, list[str]()
        for c in text:
            if c in "\n\r\t" or ord(c) in cmap:
                f = font
            else:
                f = self.font_for(font, c) or font
                if f == font:  # no font has it
                    self._missing(c)
                    c = MISSING_MARK if ord(MISSING_MARK) in cmap else "?"
            if f != cur_font and buf:
                yield cur_font, "".join(buf)
                buf = []
            cur_font = f
            buf.append(c)
        if buf:
            yield cur_font, "".join(buf)

    def _missing(self, char: str) -> None:
        if char not in self._warned:
            self._warned.add(char)
            log.warning("no PDF font has %r (U+%04X); printed as %s", char, ord(char), MISSING_MARK)

    def markup(self, text: str, font: str) -> str:
        """Paragraph markup of plain text: escaped, line breaks kept, fallback fonts switched in."""
        parts = []
        for f, run in self.runs(text, font):
            run = escape(run).replace("\r\n", "\n").replace("\n", "<br/>").replace("\t", " ")
            parts.append(run if f == font else f'<font name="{f}">{run}</font>')
        return "".join(parts)

    def width(self, text: str, font: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(run, f, size) for f, run in self.runs(text, font))

    def draw(self, canv: Canvas, x: float, y: float, text: str, font: str, size: float,
             align: str = "left") -> None:
        """Draw one line on a canvas with the same fallback as paragraphs."""
        if align != "left":
            w = self.width(text, font, size)
            x -= w if align == "right" else w / 2
        for f, run in self.runs(text, font):
            canv.setFont(f, size)
            canv.drawString(x, y, run)
            x += pdfmetrics.stringWidth(run, f, size)

    def describe(self) -> dict[str, str]:
        """Role → font file, for the log and the about box."""
        return {role: str(self.files[name].path) for role, name in self.role_font.items()}


@dataclass(frozen=True)
class Styles:
    """Every paragraph style of the documents (sizes in pt: 二号 22, 三号 16, 四号 14, 小四 12,
    五号 10.5, 小五 9)."""

    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    small_center: ParagraphStyle
    table: ParagraphStyle
    table_head: ParagraphStyle
    table_center: ParagraphStyle
    cover_title: ParagraphStyle
    cover_field: ParagraphStyle
    mono: ParagraphStyle


_lock = threading.Lock()
_fonts: FontSet | None = None
_styles: Styles | None = None


def fonts() -> FontSet:
    """The process's fonts, registered once (thread-safe)."""
    global _fonts
    with _lock:
        if _fonts is None:
            _fonts = FontSet.load()
            log.info("PDF fonts: %s", _fonts.describe())
        return _fonts


def reset(choice: str | None = None) -> FontSet:
    """Reload the fonts (after the setting changed, and in tests)."""
    global _fonts, _styles
    with _lock:
        _fonts = FontSet.load(choice)
        _styles = None
        return _fonts


def styles() -> Styles:
    global _styles
    fs = fonts()
    if _styles is None:
        title, body, table = fs.role_font["title"], fs.role_font["body"], fs.role_font["table"]
        _styles = Styles(
            title=ParagraphStyle("title", fontName=title, fontSize=20, leading=28, alignment=TA_CENTER,
                                 spaceAfter=10, textColor=black, wordWrap="CJK"),
            subtitle=ParagraphStyle("subtitle", fontName=body, fontSize=12, leading=18, alignment=TA_CENTER,
                                    spaceAfter=8, wordWrap="CJK"),
            heading=ParagraphStyle("heading", fontName=title, fontSize=14, leading=20, spaceBefore=8,
                                   spaceAfter=6, wordWrap="CJK"),
            body=ParagraphStyle("body", fontName=body, fontSize=12, leading=19, alignment=TA_LEFT,
                                wordWrap="CJK"),
            small=ParagraphStyle("small", fontName=body, fontSize=9, leading=13, wordWrap="CJK"),
            small_center=ParagraphStyle("small_center", fontName=body, fontSize=9, leading=13,
                                        alignment=TA_CENTER, wordWrap="CJK"),
            table=ParagraphStyle("table", fontName=table, fontSize=10.5, leading=14, wordWrap="CJK"),
            table_head=ParagraphStyle("table_head", fontName=title, fontSize=10.5, leading=14,
                                      alignment=TA_CENTER, wordWrap="CJK"),
            table_center=ParagraphStyle("table_center", fontName=table, fontSize=10.5, leading=14,
                                        alignment=TA_CENTER, wordWrap="CJK"),
            cover_title=ParagraphStyle("cover_title", fontName=title, fontSize=26, leading=40,
                                       alignment=TA_CENTER, wordWrap="CJK"),
            cover_field=ParagraphStyle("cover_field", fontName=body, fontSize=14, leading=24, wordWrap="CJK"),
            mono=ParagraphStyle("mono", fontName=table, fontSize=8.5, leading=11, wordWrap="CJK"),
        )
    return _styles


def para(text: object, style: ParagraphStyle):  # type: ignore[no-untyped-def]
    """A Paragraph of plain text (never markup) in ``style``, with per-character fallback."""
    from reportlab.platypus import Paragraph

    return Paragraph(fonts().markup("" if text is None else str(text), style.fontName), style)


def rich(markup: str, style: ParagraphStyle):  # type: ignore[no-untyped-def]
    """A Paragraph of trusted markup made by the report code itself (labels, <b>, <br/>)."""
    from reportlab.platypus import Paragraph

    return Paragraph(markup, style)


def text(value: object, style: ParagraphStyle) -> str:
    """Markup for plain text inside a larger trusted markup string."""
    return fonts().markup("" if value is None else str(value), style.fontName)


# -- tables: the one style of every grid and every label/value form -----------------------

GRID_COLOR = HexColor("#333333")
HEAD_FILL = HexColor("#E8E8E8")
LABEL_FILL = HexColor("#F2F2F2")
TOTAL_FILL = HexColor("#F7F1DC")
CELL_PADDING = 3


def plain_style(cmds: list[tuple] | None = None) -> TableStyle:
    """A table style that names the table font (else ReportLab sets Helvetica, not embedded)."""
    return TableStyle([("FONT", (0, 0), (-1, -1), fonts().role_font["table"], 10.5), *(cmds or [])])


def grid_style(header_rows: int = 1, total_row: bool = False) -> TableStyle:
    """A ruled table: shaded header rows (repeated on each page by the Table), thin grid."""
    cmds: list[tuple] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID_COLOR),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    if header_rows:
        cmds.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_FILL))
    if total_row:
        cmds.append(("BACKGROUND", (0, -1), (-1, -1), TOTAL_FILL))
    return plain_style(cmds)


def form_style(label_columns: tuple[int, ...] = (0,)) -> TableStyle:
    """A label/value form: label columns shaded, values left, thin grid."""
    style = grid_style(header_rows=0)
    for col in label_columns:
        style.add("BACKGROUND", (col, 0), (col, -1), LABEL_FILL)
    return style

"""Attaching scanned, signed 四方会签表 back to their demands by the QR code on the sheet.

A scan is attached only to the demand whose case number its QR code carries. A file with
no readable code, a code that names no demand, or codes of several demands is reported
and left alone, never attached at random. A multi-page PDF holding the sheets of several
demands is split: each page goes to the demand its code names.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from app.db import Database
from app.errors import DomainError
from app.models import Attachment, Demand, User
from app.reports import qr
from app.services import demands

log = logging.getLogger(__name__)
SCAN_KIND = "scan"
SCAN_CAPTION = "四方会签表扫描件"

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


@dataclass
class ScanOutcome:
    """What happened to one scan file (or one part of a split PDF)."""

    file: Path
    attached: bool
    message: str  # Chinese, for the user
    code: str = ""
    pages: list[int] = field(default_factory=list)  # 1-based pages of a PDF this outcome is about


def _split_pdf(src: Path, pages: list[int], out: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(src))
    new = pdfium.PdfDocument.new()
    try:
        new.import_pages(pdf, [p - 1 for p in pages])
        new.save(str(out))
    finally:
        new.close()
        pdf.close()


def _known_codes(db: Database, texts: set[str]) -> set[str]:
    if not texts:
        return set()
    with db.read() as s:
        return set(s.scalars(sa.select(Demand.code).where(Demand.code.in_(texts))))


def _attach(db: Database, actor: User | None, code: str, src: Path, files_dir: Path) -> str:
    """Attach one file; returns the Chinese message. Already-attached identical files are skipped."""
    sha, _size = demands.store_file(src, files_dir)
    with db.write() as s:
        demand = demands.get(s, code)
        dup = s.scalars(sa.select(Attachment.id).where(Attachment.demand_id == demand.id,
                                                        Attachment.sha256 == sha)).first()
        if dup is not None:
            return f"已归档过同一文件，未重复添加（{code}）"
        demands.attach(s, actor, demand, src, files_dir, caption=SCAN_CAPTION, kind=SCAN_KIND)
    return f"已归档到诉求 {code}"


def attach_scan(db: Database, actor: User | None, path: Path, files_dir: Path) -> list[ScanOutcome]:
    """Read the QR code(s) of one scan file and attach it (or its parts) to the demand(s)."""
    path = Path(path)
    if not path.is_file():
        return [ScanOutcome(path, False, "找不到文件")]
    try:
        per_page = qr.decode_file(path)
    except Exception as exc:  # not an image or PDF we can read
        log.warning("cannot read scan %s: %s", path, exc)
        return [ScanOutcome(path, False, f"无法读取（不是可识别的图片或 PDF）：{exc}")]
    texts = {t for page in per_page for t in page}
    if not texts:
        return [ScanOutcome(path, False, "未识别到二维码，未归档（请确认扫描清晰、二维码完整）")]
    known = _known_codes(db, texts)
    unknown = sorted(texts - known)
    if not known:
        return [ScanOutcome(path, False, f"二维码内容“{'、'.join(unknown)}”不对应任何诉求，未归档")]
    multi_page_pdf = len(per_page) > 1 and qr.is_pdf(path)
    if len(known) == 1 and not unknown:
        code = next(iter(known))
        missing = [i for i, page in enumerate(per_page, 1) if not page]
        try:
            message = _attach(db, actor, code, path, files_dir)
        except DomainError as exc:
            return [ScanOutcome(path, False, f"{code}：{exc}", code)]
        if missing:
            message += f"（第 {'、'.join(map(str, missing))} 页无二维码，随文件一并归档）"
        return [ScanOutcome(path, True, message, code)]
    if not multi_page_pdf:
        return [ScanOutcome(path, False, f"一个文件中有多个二维码（{'、'.join(sorted(texts))}），无法确定归属，未归档")]
    # A stack of sheets scanned into one PDF: each page to the demand its code names.
    outcomes: list[ScanOutcome] = []
    groups: dict[str, list[int]] = {}
    for number, page in enumerate(per_page, 1):
        page_known = [t for t in page if t in known]
        if len(page_known) == 1 and len(page) == 1:
            groups.setdefault(page_known[0], []).append(number)
        elif not page:
            outcomes.append(ScanOutcome(path, False, f"第 {number} 页未识别到二维码，未归档", pages=[number]))
        elif not page_known:
            outcomes.append(ScanOutcome(path, False, f"第 {number} 页二维码“{'、'.join(page)}”不对应任何诉求，未归档",
                                        pages=[number]))
        else:
            outcomes.append(ScanOutcome(path, False, f"第 {number} 页有多个二维码，无法确定归属，未归档",
                                        pages=[number]))
    with tempfile.TemporaryDirectory(prefix="kuaichu-scan-") as tmp:
        for code, pages in groups.items():
            label = f"第{pages[0]}页" if len(pages) == 1 else f"第{pages[0]}-{pages[-1]}页"
            part = Path(tmp) / f"{path.stem}-{label}.pdf"
            _split_pdf(path, pages, part)
            try:
                message = _attach(db, actor, code, part, files_dir)
                outcomes.append(ScanOutcome(path, True, f"{label}：{message}", code, pages))
            except DomainError as exc:
                outcomes.append(ScanOutcome(path, False, f"{label}：{code}：{exc}", code, pages))
    return sorted(outcomes, key=lambda o: o.pages[:1])


def attach_scans(db: Database, actor: User | None, files: list[Path], files_dir: Path, *,
                 progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> list[ScanOutcome]:
    """Attach many scans; stops between files when ``cancelled()`` turns true."""
    out: list[ScanOutcome] = []
    done = 0
    for path in files:
        if cancelled is not None and cancelled():
            break
        if progress is not None:
            progress(done, len(files), Path(path).name)
        out.extend(attach_scan(db, actor, Path(path), files_dir))
        done += 1
    if progress is not None:
        progress(done, len(files), "")
    return out

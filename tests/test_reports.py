"""The PDF documents: sign-off sheet, dossier, weekly and monthly reports, scans back in.

Checked from the outside, as a person or an archive would: poppler's ``pdffonts`` (every
font embedded), ``pdftotext`` (the words are there), ``pdfinfo`` (page counts agree with
"共 M 页"), the QR code decoded from a rendered page with zxing-cpp, and the command line's
exit codes and messages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from app import cli, paths
from app.db import Database, open_database
from app.models import Attachment, Demand, Petitioner, User
from app.reports import fingerprint, fonts, layout
from app.reports.common import BatchResult
from app.reports.dossier import make_dossiers
from app.reports.qr import qr_flowable
from app.reports.scans import SCAN_KIND
from app.services import demands, rates
from app.services.demands import DemandInput
from app.services.demo import DemoSpec, generate
from app.vocab import PARTY_ORDER, DemandType, Status

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")

TODAY = date(2025, 6, 18)
RARE_NAME = "李䶮昇喆堃彧"
OUTSIDE_ALL_FONTS = "𠮷"  # CJK Extension B: not in the bundled fonts


# -- helpers ------------------------------------------------------------------------------


def _make_demo(path: Path) -> Database:
    db = open_database(str(path))
    generate(db, DemoSpec(demands=300, seed=3, today=TODAY))
    return db


def run(*args: str, db: Database, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    target = str(paths.sqlite_path(db.url))
    rc = cli.main(["--db", target, *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def pdf_text(path: Path) -> list[str]:
    """The text of each page (pdftotext -layout, split at form feeds)."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def pdf_fonts(path: Path) -> list[dict[str, str]]:
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()
    rows = []
    for line in lines[2:]:
        parts = line.split()
        # name type [type...] encoding emb sub uni object-id generation
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def assert_fonts_embedded(path: Path) -> list[dict[str, str]]:
    found = pdf_fonts(path)
    assert found, "no fonts listed"
    for f in found:
        assert f["emb"] == "yes", f"font {f['name']} not embedded in {path.name}"
        assert f["sub"] == "yes", f"font {f['name']} not a subset in {path.name}"
    return found


def assert_page_footers(path: Path) -> int:
    """Every page says 第 N 页 共 M 页 with M the real page count."""
    total = pdf_pages(path)
    texts = pdf_text(path)
    assert len(texts) == total
    for number, text in enumerate(texts, 1):
        assert re.search(rf"第\s*{number}\s*页\s*共\s*{total}\s*页", text), f"page {number} footer wrong"
    return total


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def decode_page(path: Path, page: int = 0, dpi: int = 150) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        image = pdf[page].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    return [r.text for r in zxingcpp.read_barcodes(image)]


def qr_png(text: str, out: Path) -> Path:
    """A PNG holding only a QR code of ``text`` (a scan of some other paper)."""
    from reportlab.pdfgen.canvas import Canvas

    pdf = out.with_suffix(".pdf")
    canv = Canvas(str(pdf), pagesize=(200, 200), initialFontName=fonts.fonts().role_font["body"])
    qr_flowable(text, 160).drawOn(canv, 20, 20)
    canv.save()
    doc = pdfium.PdfDocument(str(pdf))
    doc[0].render(scale=2).to_pil().save(out)
    doc.close()
    return out


@pytest.fixture(scope="module", autouse=True)
def _bundled_fonts() -> Iterator[None]:
    """The bundled fonts only, so results do not depend on the fonts of the PC running the tests."""
    fonts.reset("bundled")
    yield
    fonts.reset()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """A small demo database (read-only for the tests that use it)."""
    return _make_demo(tmp_path_factory.mktemp("reports") / "demo.sqlite")


@pytest.fixture
def fresh(tmp_path: Path) -> Database:
    """A demo database of this test's own (for tests that write)."""
    return _make_demo(tmp_path / "fresh.sqlite")


def _pick(db: Database, *statuses: Status) -> tuple[str, str, str]:
    with db.read() as s:
        d, name = s.execute(sa.select(Demand, Petitioner.name).join(Petitioner, Petitioner.id == Demand.petitioner_id)
                            .where(Demand.status.in_(statuses)).order_by(Demand.id.desc())).first()
        return d.code, name, d.content


@pytest.fixture(scope="module")
def closed_case(demo: Database) -> tuple[str, str, str]:
    return _pick(demo, Status.EVALUATED)


# -- the sign-off sheet ---------------------------------------------------------------------


def test_signoff_sheet_has_the_case_the_parties_and_a_qr_code_that_decodes(
        demo: Database, closed_case: tuple[str, str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, name, content = closed_case
    out = tmp_path / "sheet.pdf"
    rc, stdout, _ = run("signoff-sheet", code, "--out", str(out), db=demo, capsys=capsys)
    assert rc == 0 and out.exists() and "已生成" in stdout
    assert_fonts_embedded(out)
    assert assert_page_footers(out) == 1
    text = flat(pdf_text(out)[0])
    for needle in (code, name, flat(content), "四方会签表", "满意", "基本满意", "不满意"):
        assert needle in text
    for party in PARTY_ORDER:
        assert party.label in text
    assert decode_page(out) == [code]


def test_signoff_sheet_stays_one_page_with_very_long_content(fresh: Database, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = _register(fresh, content="路灯不亮，" * 400)
    out = tmp_path / "long.pdf"
    rc, _, _ = run("signoff-sheet", code, "--out", str(out), db=fresh, capsys=capsys)
    assert rc == 0
    assert pdf_pages(out) == 1
    assert decode_page(out) == [code]


# -- the dossier ----------------------------------------------------------------------------


def test_dossier_text_pages_and_fingerprint(demo: Database, closed_case: tuple[str, str, str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, name, content = closed_case
    out = tmp_path / "dossier.pdf"
    rc, _, _ = run("dossier", code, "--out", str(out), db=demo, capsys=capsys)
    assert rc == 0
    assert_fonts_embedded(out)
    total = assert_page_footers(out)
    pages = pdf_text(out)
    text = flat("".join(pages))
    for needle in (code, name, flat(content), "卷内目录", "诉求登记表", "卷内备考表"):
        assert needle in text
    for party in PARTY_ORDER:
        assert party.label in text
    assert "未办结" not in text
    # Every page's header carries the case number.
    assert all(code in flat(p) for p in pages)
    # The cover's page count and the table of contents agree with the pages printed.
    assert "本卷共" in text and f"{total}页" in flat(pages[0])
    toc_last = re.search(r"卷内备考表（含数据指纹）.*?(\d+)\s*$", pages[1], re.M)
    assert toc_last and int(toc_last.group(1)) == total
    assert "卷内备考表" in pages[-1]
    # The fingerprint on the last page recomputes from the database.
    printed = re.search(r"((?:[0-9a-f]{16}\s*){4})", pages[-1])
    assert printed
    with demo.read() as s:
        d = demands.get(s, code)
        expected = fingerprint.fingerprint(s, d)
    assert re.sub(r"\s", "", printed.group(1)) == expected
    rc, stdout, _ = run("dossier", code, "--fingerprint", db=demo, capsys=capsys)
    assert rc == 0 and fingerprint.grouped(expected) in stdout


def test_fingerprint_is_canonical_and_changes_with_the_data(fresh: Database) -> None:
    code, _, _ = _pick(fresh, Status.EVALUATED)
    with fresh.read() as s:
        d = demands.get(s, code)
        data = fingerprint.record(s, d)
        before = fingerprint.fingerprint(s, d)
    assert fingerprint.canonical_json(data) == fingerprint.canonical_json(dict(reversed(list(data.items()))))
    assert fingerprint.canonical_json(data).decode("utf-8").startswith('{"answer"')
    with fresh.write() as s:
        actor = s.scalars(sa.select(User).where(User.username == "duban")).one()
        demands.revisit(s, actor, code, "回头看：路灯仍正常", on=TODAY)
    with fresh.read() as s:
        assert fingerprint.fingerprint(s, demands.get(s, code)) != before


def test_dossier_of_an_open_demand_is_marked_draft_on_every_page(demo: Database, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _pick(demo, Status.HANDLING)
    out = tmp_path / "draft.pdf"
    rc, _, _ = run("dossier", code, "--out", str(out), db=demo, capsys=capsys)
    assert rc == 0
    assert_page_footers(out)
    assert all("未办结（草稿）" in p for p in pdf_text(out))


def test_dossier_shows_photos_lists_other_files_and_scans(fresh: Database, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _pick(fresh, Status.HANDLING)
    photo = tmp_path / "现场照片.jpg"
    Image.new("RGB", (1600, 1200), (90, 140, 60)).save(photo)
    note = tmp_path / "协调会纪要.txt"
    note.write_text("协调会纪要：已约定本周内维修。", encoding="utf-8")
    files_dir = paths.attachments_dir(fresh.url)
    with fresh.write() as s:
        actor = s.scalars(sa.select(User).where(User.username == "banli")).one()
        demands.attach(s, actor, code, photo, files_dir, caption="维修前")
        att = demands.attach(s, actor, code, note, files_dir)
        note_sha = att.sha256
    out = tmp_path / "evidence.pdf"
    rc, _, _ = run("dossier", code, "--out", str(out), db=fresh, capsys=capsys)
    assert rc == 0
    text = flat("".join(pdf_text(out)))
    assert "图1" in text and "现场照片.jpg" in text and "维修前" in text
    assert note_sha in text and "协调会纪要.txt" in text
    images = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) >= 3  # header lines + the photo
    assert_page_footers(out)


def test_rare_name_characters_use_a_fallback_font_never_an_empty_box(fresh: Database, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fs = fonts.fonts()
    for ch in RARE_NAME:
        assert fs.font_for(fs.role_font["body"], ch) is not None, ch
    assert fs.font_for(fs.role_font["body"], OUTSIDE_ALL_FONTS) is None
    code = _register(fresh, name=RARE_NAME, content=f"反映人名字中有{OUTSIDE_ALL_FONTS}字")
    out = tmp_path / "rare.pdf"
    rc, _, _ = run("dossier", code, "--out", str(out), db=fresh, capsys=capsys)
    assert rc == 0
    names = {f["name"].split("+")[-1] for f in assert_fonts_embedded(out)}
    assert "HanaMinA" in names  # 䶮 (Extension A) comes from the fallback font
    text = flat("".join(pdf_text(out)))
    assert RARE_NAME in text
    assert f"名字中有{fonts.MISSING_MARK}字" in text  # printed as 〓, not as an empty box
    sheet = tmp_path / "rare-sheet.pdf"
    assert run("signoff-sheet", code, "--out", str(sheet), db=fresh, capsys=capsys)[0] == 0
    assert RARE_NAME in flat(pdf_text(sheet)[0])


def test_government_faces_are_preferred_and_fall_back_per_character(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in 仿宋 that, like simfang.ttf, lacks most characters: only the bundled
    # Extension-A font's glyphs under the government face's file name.
    (tmp_path / "Fonts").mkdir()
    shutil.copy(fonts.BUNDLED_EXT_A, tmp_path / "Fonts" / "SIMFANG.TTF")
    monkeypatch.setattr(fonts, "system_font_dirs", lambda: [tmp_path / "Fonts"])
    try:
        fs = fonts.FontSet.load("auto")
        body = fs.role_font["body"]
        assert fs.files[body].path.name == "SIMFANG.TTF"
        assert fs.role_font["title"] == "KuaichuSans"  # no 黑体 here: the bundled face
        assert fs.role_font["table"] == body  # no 宋体 here: 仿宋 is its next choice
        assert fs.font_for(body, "䶮") == body
        assert fs.font_for(body, "张") == "KuaichuSans"
        assert [f for f, _ in fs.runs("张䶮", body)] == ["KuaichuSans", body]
        assert fonts.FontSet.load("bundled").role_font["body"] == "KuaichuSans"
    finally:
        fonts.reset("bundled")


def test_month_of_dossiers_reports_progress_and_stops_when_cancelled(demo: Database, tmp_path: Path) -> None:
    with demo.read() as s:
        codes = list(s.scalars(sa.select(Demand.code).where(Demand.status == Status.EVALUATED).limit(4)))
    seen: list[tuple[int, int, str]] = []
    result = make_dossiers(demo, codes, tmp_path / "all", progress=lambda *a: seen.append(a))
    assert isinstance(result, BatchResult) and not result.cancelled and not result.failed
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(f"{c}.pdf" for c in codes)
    assert seen[0] == (0, 4, codes[0]) and seen[-1] == (4, 4, "")
    stop = tmp_path / "stop"
    result = make_dossiers(demo, codes, stop, cancelled=lambda: len(list(stop.glob("*.pdf"))) >= 2)
    assert result.cancelled and len(result.written) == 2


# -- weekly and monthly reports ---------------------------------------------------------------


def test_weekly_report_lists_units_and_the_silent_ones(demo: Database, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "weekly.pdf"
    rc, _, _ = run("weekly-report", "--week-ending", "2025-06-13", "--out", str(out), db=demo, capsys=capsys)
    assert rc == 0
    assert_fonts_embedded(out)
    assert_page_footers(out)
    text = flat("".join(pdf_text(out)))
    assert "2025-06-07至2025-06-13" in text
    for needle in ("各责任单位报账汇总", "本周未报账的单位", "在办诉求明细", "口径"):
        assert needle in text
    with demo.read() as s:
        open_code = s.scalar(sa.select(Demand.code).where(Demand.status == Status.HANDLING,
                                                          Demand.received_on <= date(2025, 6, 13)).limit(1))
    assert open_code in text


def test_monthly_report_agrees_with_stats_and_public_version_masks_phones(
        demo: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    month = "2025-03"
    full, public = tmp_path / "full.pdf", tmp_path / "public.pdf"
    assert run("monthly-report", "--month", month, "--out", str(full), db=demo, capsys=capsys)[0] == 0
    assert run("monthly-report", "--month", month, "--public", "--out", str(public), db=demo, capsys=capsys)[0] == 0
    for path in (full, public):
        assert_fonts_embedded(path)
        assert_page_footers(path)
    full_text, public_text = flat("".join(pdf_text(full))), flat("".join(pdf_text(public)))
    with demo.read() as s:
        total = rates.stats(s, rates.Period.month(month))[0]
    assert f"本月受理诉求{total.received}件" in full_text
    assert f"办结率{total.rates['completion'].percent()}" in full_text
    assert f"本月受理诉求{total.received}件" in public_text  # the same figures in both versions
    for definition in rates.DEFINITIONS.values():
        assert flat(definition)[:20] in public_text
    phones = re.findall(r"(?<!\d)1\d{10}(?!\d)", full_text)
    assert phones, "the full version should list overdue demands with their phones"
    assert not re.findall(r"(?<!\d)1\d{10}(?!\d)", public_text)
    assert re.search(r"1\d{2}\*{4}\d{4}", public_text)
    assert "公示版" in public_text and "×" in public_text


def test_empty_period_and_unknown_case_exit_non_zero_with_a_chinese_message(
        demo: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run("monthly-report", "--month", "2001-01", "--out", str(tmp_path / "m.pdf"), db=demo, capsys=capsys)
    assert rc != 0 and "没有" in err
    rc, _, err = run("weekly-report", "--week-ending", "2001-01-05", "--out", str(tmp_path / "w.pdf"), db=demo,
                     capsys=capsys)
    assert rc != 0 and "没有" in err
    for command in ("dossier", "signoff-sheet"):
        rc, _, err = run(command, "NO-SUCH-CASE", "--out", str(tmp_path / "x.pdf"), db=demo, capsys=capsys)
        assert rc != 0 and "找不到诉求" in err and "NO-SUCH-CASE" in err
    rc, _, err = run("monthly-report", "--month", "2025-13", "--out", str(tmp_path / "m.pdf"), db=demo, capsys=capsys)
    assert rc != 0 and "YYYY-MM" in err
    assert not any(tmp_path.iterdir())


# -- scans back in ----------------------------------------------------------------------------


def _scans(db: Database, code: str) -> list[Attachment]:
    with db.read() as s:
        d = demands.get(s, code)
        return list(s.scalars(sa.select(Attachment).where(Attachment.demand_id == d.id, Attachment.kind == SCAN_KIND)))


def _attachment_count(db: Database) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count(Attachment.id))) or 0


def test_attach_scan_files_the_sheet_under_its_demand_and_reports_unmatched(
        fresh: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _pick(fresh, Status.AWAITING_SIGNOFF, Status.HANDLING)
    sheet = tmp_path / "sheet.pdf"
    assert run("signoff-sheet", code, "--out", str(sheet), db=fresh, capsys=capsys)[0] == 0
    scan = tmp_path / "扫描件.png"
    doc = pdfium.PdfDocument(str(sheet))
    doc[0].render(scale=200 / 72).to_pil().convert("L").rotate(2, expand=True, fillcolor=255).save(scan)
    doc.close()
    rc, out, _ = run("attach-scan", str(scan), db=fresh, capsys=capsys)
    assert rc == 0 and code in out
    assert [a.original_name for a in _scans(fresh, code)] == ["扫描件.png"]
    # The same file again is not attached twice.
    assert run("attach-scan", str(scan), db=fresh, capsys=capsys)[0] == 0
    assert len(_scans(fresh, code)) == 1
    # The dossier shows the scanned sheet in its sign-off section.
    dossier_pdf = tmp_path / "with-scan.pdf"
    assert run("dossier", code, "--out", str(dossier_pdf), db=fresh, capsys=capsys)[0] == 0
    assert "会签表扫描件：扫描件.png" in flat("".join(pdf_text(dossier_pdf)))
    assert len(subprocess.run(["pdfimages", "-list", str(dossier_pdf)], capture_output=True,
                              text=True).stdout.strip().splitlines()) == 3

    before = _attachment_count(fresh)
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (800, 1100), "white").save(blank)
    stranger = qr_png("511902104000-1999-99999", tmp_path / "stranger.png")
    rc, out, err = run("attach-scan", str(blank), str(stranger), db=fresh, capsys=capsys)
    assert rc != 0
    assert "未识别到二维码" in err and "不对应任何诉求" in err and "511902104000-1999-99999" in err
    assert _attachment_count(fresh) == before


def test_attach_scan_splits_a_pdf_of_several_sheets(fresh: Database, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with fresh.read() as s:
        codes = list(s.scalars(sa.select(Demand.code).where(Demand.status == Status.HANDLING).limit(2)))
    merged = pdfium.PdfDocument.new()
    for code in codes:
        sheet = tmp_path / f"{code}.pdf"
        assert run("signoff-sheet", code, "--out", str(sheet), db=fresh, capsys=capsys)[0] == 0
        src = pdfium.PdfDocument(str(sheet))
        merged.import_pages(src)
        src.close()
    blank = pdfium.PdfDocument.new()
    blank.new_page(595, 842)
    merged.import_pages(blank)
    stack = tmp_path / "stack.pdf"
    merged.save(str(stack))
    merged.close()
    blank.close()
    rc, _out, err = run("attach-scan", str(stack), db=fresh, capsys=capsys)
    assert rc != 0  # page 3 has no code
    assert "第 3 页未识别到二维码" in err
    for code in codes:
        scans = _scans(fresh, code)
        assert len(scans) == 1 and scans[0].original_name.endswith(".pdf")
        stored = demands.stored_path(paths.attachments_dir(fresh.url), scans[0].sha256)
        assert pdfium.PdfDocument(str(stored)).__len__() == 1


# -- helpers writing demands ---------------------------------------------------------------


def _register(db: Database, *, name: str = "张三", content: str = "路灯不亮") -> str:
    with db.write() as s:
        actor = s.scalars(sa.select(User).where(User.username == "dengji")).one()
        d = demands.register(s, actor, DemandInput(type=DemandType.SOLVE, content=content, received_on=TODAY,
                                                   petitioner_name=name, petitioner_phone="13912345678",
                                                   petitioner_address="柳树社区3组8号"), today=TODAY)
        return d.code


def test_layout_write_is_atomic(tmp_path: Path) -> None:
    target = layout.write(b"%PDF-1.4 test", tmp_path / "sub" / "a.pdf")
    assert target.read_bytes() == b"%PDF-1.4 test"
    assert [p.name for p in target.parent.iterdir()] == ["a.pdf"]


# -- the 报表报送 screen (offscreen) ------------------------------------------------------------


@pytest.fixture
def screen(demo: Database, tmp_path: Path, qtbot):  # type: ignore[no-untyped-def]
    from app.views import tasks
    from app.views.context import AppContext
    from app.views.reports_view import ReportsView

    with demo.read() as s:
        user = s.scalars(sa.select(User).where(User.username == "zhuren")).one()
    view = ReportsView(AppContext(db=demo, user=user, files_dir=paths.attachments_dir(demo.url)), today=TODAY)
    qtbot.addWidget(view)
    yield view
    tasks.wait_all()


def test_screen_makes_and_previews_weekly_and_monthly_reports(screen, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QDate
    from PySide6.QtPrintSupport import QPrinter

    screen.week_end.setDate(QDate(2025, 6, 13))
    screen.make_weekly()
    qtbot.waitUntil(lambda: screen.preview.path is not None, timeout=30_000)
    assert screen.preview.path.name == "周报账_2025-06-13.pdf"
    assert screen.preview.page_count() == pdf_pages(screen.preview.path)
    screen.report_month.setCurrentIndex(screen.report_month.findData("2025-03"))
    screen.full_radio.setChecked(True)
    screen.make_monthly()
    qtbot.waitUntil(lambda: screen.preview.path.name.startswith("月度统计报表_2025-03"), timeout=30_000)
    assert "完整版" in screen.preview.path.name
    # Printing paints every page (to a PDF printer here).
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printed = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(printed))
    printer.setResolution(100)
    assert screen.preview.print_to(printer) == screen.preview.page_count()
    assert pdf_pages(printed) == screen.preview.page_count()


def test_screen_makes_a_month_of_dossiers_with_progress_and_cancel(screen, qtbot, demo: Database,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    from app.reports.dossier import closed_codes

    with demo.read() as s:
        expected = closed_codes(s, rates.Period.month("2025-03"))
    assert len(expected) > 3
    screen.dossier_month.setCurrentIndex(screen.dossier_month.findData("2025-03"))
    steps: list[int] = []
    task = screen.make_dossiers(tmp_path)
    task.progressed.connect(lambda done, total, code: steps.append(done))
    assert screen.progress.isVisibleTo(screen) and screen.cancel_button.isVisibleTo(screen)
    qtbot.waitUntil(lambda: screen.batch is None, timeout=120_000)
    folder = tmp_path / "一案一卷_2025-03"
    assert sorted(p.stem for p in folder.glob("*.pdf")) == sorted(expected)
    assert "已生成" in screen.dossier_status.text() and not screen.progress.isVisibleTo(screen)
    assert screen.preview.page_count() > 0

    again = tmp_path / "again"
    screen.make_dossiers(again)
    screen.cancel_dossiers()
    qtbot.waitUntil(lambda: screen.batch is None, timeout=120_000)
    assert "取消" in screen.dossier_status.text()
    assert len(list((again / "一案一卷_2025-03").glob("*.pdf"))) < len(expected)


def test_screen_attaches_dropped_scans_and_lists_the_outcome(screen, qtbot, demo: Database,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    from PySide6.QtCore import QUrl

    from app.views.reports_view import ScanDropArea

    stranger = qr_png("不是案件编号", tmp_path / "stranger.png")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    files = ScanDropArea.scan_files([QUrl.fromLocalFile(str(stranger)), QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    assert files == [stranger]
    before = _attachment_count(demo)
    screen.attach_scans(files)
    qtbot.waitUntil(lambda: bool(screen.last_scan_results), timeout=30_000)
    assert not screen.last_scan_results[0].attached
    assert "未归档" in screen.scan_results.item(0).text()
    assert _attachment_count(demo) == before


def test_preview_dialog_shows_a_pdf(demo: Database, closed_case: tuple[str, str, str], tmp_path: Path,  # type: ignore[no-untyped-def]
                                    qtbot) -> None:
    from app.reports.signoff_sheet import make_signoff_sheet
    from app.views.pdf_preview import PdfPreviewDialog

    path = make_signoff_sheet(demo, closed_case[0], tmp_path / "sheet.pdf")
    dialog = PdfPreviewDialog(path)
    qtbot.addWidget(dialog)
    assert dialog.preview.page_count() == 1 and dialog.preview.print_button.isEnabled()
    assert not dialog.preview.load(tmp_path / "missing.pdf")
    assert not dialog.preview.print_button.isEnabled()

"""报表报送: the Friday 报账 report, the monthly statistics report (公示 or full), a month's
一案一卷 into a folder, single documents by case number, and scanned sign-off sheets
attached back by their QR codes (drag and drop).

Every document is made off the GUI thread (``app.views.tasks``) by the Qt-free functions
of ``app.reports``; the result is previewed on the right, where it can be printed, saved
or opened in another program. A month's dossiers show their progress in the screen and
can be cancelled between two dossiers.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.reports import dossier, monthly, scans, signoff_sheet, weekly
from app.reports.common import BatchResult
from app.reports.qr import IMAGE_SUFFIXES, PDF_SUFFIXES
from app.reports.scans import ScanOutcome
from app.views import tasks
from app.views.context import AppContext
from app.views.pdf_preview import PdfPreview, scratch_dir

MONTHS_LISTED = 24
SCAN_SUFFIXES = PDF_SUFFIXES + IMAGE_SUFFIXES


def month_choices(today: date, count: int = MONTHS_LISTED) -> list[str]:
    """``YYYY-MM`` of this month and the ``count - 1`` before it, newest first."""
    out, y, m = [], today.year, today.month
    for _ in range(count):
        out.append(f"{y}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def month_label(month: str) -> str:
    y, m = month.split("-")
    return f"{y}年{int(m)}月"


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #555;")
    return label


class ScanDropArea(QLabel):
    """Accepts scan files dropped from the file manager."""

    def __init__(self, on_files: Any, parent: QWidget | None = None) -> None:
        super().__init__("把签字后的四方会签表扫描件\n（PDF 或图片）拖到这里", parent)
        self.on_files = on_files
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(70)
        self.setStyleSheet("QLabel { border: 2px dashed #9aa7b4; border-radius: 6px; color: #445; padding: 6px; }")

    @staticmethod
    def scan_files(urls: list[QUrl]) -> list[Path]:
        return [Path(u.toLocalFile()) for u in urls
                if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in SCAN_SUFFIXES]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and self.scan_files(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = self.scan_files(event.mimeData().urls())
        if files:
            event.acceptProposedAction()
            self.on_files(files)


class ReportsView(QWidget):
    """The 报表报送 screen."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, today: date | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.today = today or date.today()
        self._tmp = tmp = scratch_dir()
        self.destroyed.connect(lambda *_: shutil.rmtree(tmp, ignore_errors=True))
        self.batch: tasks.Task | None = None
        self.last_folder: Path | None = None
        self.last_scan_results: list[ScanOutcome] = []
        self._made = 0

        self.preview = PdfPreview(self)
        controls = QWidget()
        column = QVBoxLayout(controls)
        column.addWidget(self._weekly_box())
        column.addWidget(self._monthly_box())
        column.addWidget(self._dossiers_box())
        column.addWidget(self._single_box())
        column.addWidget(self._scans_box())
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(380)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(scroll)
        split.addWidget(self.preview)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    # -- building the panels ------------------------------------------------------------------

    def _month_combo(self) -> QComboBox:
        combo = QComboBox()
        for month in month_choices(self.today):
            combo.addItem(month_label(month), month)
        combo.setCurrentIndex(1)  # last month: the one to report
        return combo

    def _weekly_box(self) -> QGroupBox:
        box = QGroupBox("周报账")
        form = QFormLayout(box)
        self.week_end = QDateEdit()
        self.week_end.setCalendarPopup(True)
        self.week_end.setDisplayFormat("yyyy-MM-dd")
        friday = weekly.last_friday(self.today)
        self.week_end.setDate(QDate(friday.year, friday.month, friday.day))
        self.weekly_button = QPushButton("生成周报账")
        self.weekly_button.clicked.connect(self.make_weekly)
        form.addRow("截至（周五）", self.week_end)
        form.addRow(_hint("统计该日及之前共七天：各责任单位的在办诉求、本周进展和佐证、临期与超期、未报账单位。"))
        form.addRow(self.weekly_button)
        return box

    def _monthly_box(self) -> QGroupBox:
        box = QGroupBox("月度统计报表")
        form = QFormLayout(box)
        self.report_month = self._month_combo()
        self.public_radio = QRadioButton("公示版（姓名、电话脱敏）")
        self.full_radio = QRadioButton("完整版（报送区中心，含个人信息）")
        self.public_radio.setChecked(True)
        group = QButtonGroup(box)
        group.addButton(self.public_radio)
        group.addButton(self.full_radio)
        self.monthly_button = QPushButton("生成月度统计报表")
        self.monthly_button.clicked.connect(self.make_monthly)
        form.addRow("月份", self.report_month)
        form.addRow(self.public_radio)
        form.addRow(self.full_radio)
        form.addRow(self.monthly_button)
        return box

    def _dossiers_box(self) -> QGroupBox:
        box = QGroupBox("一案一卷（本月办结诉求的案卷）")
        form = QFormLayout(box)
        self.dossier_month = self._month_combo()
        self.dossiers_button = QPushButton("选择文件夹并生成…")
        self.dossiers_button.clicked.connect(self.choose_folder_and_make_dossiers)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m 件")
        self.progress.hide()
        self.cancel_button = QPushButton("取消")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_dossiers)
        self.dossier_status = QLabel("")
        self.dossier_status.setWordWrap(True)
        self.open_folder_button = QPushButton("打开文件夹")
        self.open_folder_button.hide()
        self.open_folder_button.clicked.connect(self.open_folder)
        form.addRow("办结月份", self.dossier_month)
        form.addRow(self.dossiers_button)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        form.addRow(self.dossier_status)
        form.addRow(self.open_folder_button)
        return box

    def _single_box(self) -> QGroupBox:
        box = QGroupBox("单件文书")
        form = QFormLayout(box)
        self.case_no = QLineEdit()
        self.case_no.setPlaceholderText("案件编号，如 511902104000-2025-00012")
        self.sheet_button = QPushButton("四方会签表")
        self.dossier_button = QPushButton("一案一卷")
        self.sheet_button.clicked.connect(self.make_sheet)
        self.dossier_button.clicked.connect(self.make_dossier)
        row = QHBoxLayout()
        row.addWidget(self.sheet_button)
        row.addWidget(self.dossier_button)
        form.addRow("案件编号", self.case_no)
        form.addRow(row)
        return box

    def _scans_box(self) -> QGroupBox:
        box = QGroupBox("会签表扫描件归档")
        column = QVBoxLayout(box)
        self.drop_area = ScanDropArea(self.attach_scans)
        self.scan_button = QPushButton("选择扫描件…")
        self.scan_button.clicked.connect(self.choose_scans)
        self.scan_results = QListWidget()
        self.scan_results.setMinimumHeight(90)
        column.addWidget(self.drop_area)
        column.addWidget(self.scan_button)
        column.addWidget(_hint("程序读取表上的二维码，归档到对应诉求；识别不了或对不上的不会归档。"))
        column.addWidget(self.scan_results)
        allowed = self.ctx.can("attach")
        for w in (self.drop_area, self.scan_button):
            w.setEnabled(allowed)
            if not allowed:
                w.setToolTip("需要“办理人”或“登记员”角色")
        self.drop_area.setAcceptDrops(allowed)
        return box

    # -- single documents -------------------------------------------------------------------

    def _generate(self, title: str, file_name: str, make: Any) -> tasks.Task:
        # A folder per document: the one on show stays untouched (Windows locks an open file).
        self._made += 1
        out = self._tmp / str(self._made) / file_name

        def done(path: Path) -> None:
            self.preview.load(path, title)

        return tasks.run(lambda _control: make(out), title=f"正在生成{title}", parent=self, on_done=done,
                         cancellable=False)

    def make_weekly(self) -> tasks.Task:
        end: date = self.week_end.date().toPython()  # type: ignore[assignment]
        return self._generate(f"周报账（截至 {end}）", f"周报账_{end}.pdf",
                              lambda out: weekly.make_weekly_report(self.ctx.db, end, out))

    def make_monthly(self) -> tasks.Task:
        month = str(self.report_month.currentData())
        public = self.public_radio.isChecked()
        kind = "公示版" if public else "完整版"
        return self._generate(f"{month_label(month)}统计报表（{kind}）", f"月度统计报表_{month}_{kind}.pdf",
                              lambda out: monthly.make_monthly_report(self.ctx.db, month, out, public=public))

    def make_sheet(self) -> tasks.Task | None:
        code = self.case_no.text().strip()
        if not code:
            tasks.show_message(self, "请先输入案件编号")
            return None
        return self._generate(f"四方会签表 {code}", f"四方会签表_{code}.pdf",
                              lambda out: signoff_sheet.make_signoff_sheet(self.ctx.db, code, out))

    def make_dossier(self) -> tasks.Task | None:
        code = self.case_no.text().strip()
        if not code:
            tasks.show_message(self, "请先输入案件编号")
            return None
        return self._generate(f"一案一卷 {code}", f"一案一卷_{code}.pdf",
                              lambda out: dossier.make_dossier(self.ctx.db, code, out, self.ctx.files_dir))

    # -- a month's dossiers -------------------------------------------------------------------

    def choose_folder_and_make_dossiers(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "选择保存案卷的文件夹", str(Path.home()))
        if folder:
            self.make_dossiers(Path(folder))

    def make_dossiers(self, folder: Path) -> tasks.Task:
        month = str(self.dossier_month.currentData())
        target = folder / f"一案一卷_{month}"
        self.last_folder = target

        def work(control: tasks.TaskControl) -> BatchResult:
            def progress(done: int, total: int, code: str) -> None:
                if not control.cancelled:
                    control.progress(done, total, code)

            return dossier.month_dossiers(self.ctx.db, month, target, files_dir=self.ctx.files_dir,
                                          progress=progress, cancelled=lambda: control.cancelled)

        self._batch_running(True)
        self.dossier_status.setText(f"正在生成 {month_label(month)} 办结诉求的案卷…")
        task = tasks.run(work, title="正在生成案卷", parent=self, progress=False, on_done=self._dossiers_done,
                         on_error=self._dossiers_failed, on_cancel=self._dossiers_cancelled)
        task.progressed.connect(self._dossier_progress)
        self.batch = task
        return task

    def cancel_dossiers(self) -> None:
        if self.batch is not None:
            self.batch.cancel()
            self.cancel_button.setEnabled(False)
            self.dossier_status.setText("正在取消（当前这一件完成后停止）…")

    def _batch_running(self, running: bool) -> None:
        self.dossiers_button.setEnabled(not running)
        self.dossier_month.setEnabled(not running)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)
            self.open_folder_button.hide()

    def _dossier_progress(self, done: int, total: int, code: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if code:
            self.dossier_status.setText(f"正在生成 {code}（{done + 1}/{total}）")

    def _dossiers_done(self, result: BatchResult) -> None:
        self._batch_running(False)
        self.batch = None
        text = f"已生成 {len(result.written)} 件案卷"
        if result.cancelled:
            text = f"已取消：共 {result.total} 件，已生成 {len(result.written)} 件"
        if result.failed:
            text += f"；{len(result.failed)} 件失败：" + "；".join(f"{c}（{r}）" for c, r in result.failed[:5])
        self.dossier_status.setText(f"{text}。保存在 {self.last_folder}")
        self.open_folder_button.setVisible(bool(result.written))
        if result.written:
            self.preview.load(result.written[0], f"一案一卷 {result.written[0].stem}")

    def _dossiers_failed(self, exc: BaseException) -> None:
        self._batch_running(False)
        self.batch = None
        self.dossier_status.setText(f"未生成：{exc}")
        tasks.show_error(self, exc)

    def _dossiers_cancelled(self) -> None:
        self._batch_running(False)
        self.batch = None
        done = len(list(self.last_folder.glob("*.pdf"))) if self.last_folder and self.last_folder.exists() else 0
        self.dossier_status.setText(f"已取消；已生成的 {done} 件保存在 {self.last_folder}")
        self.open_folder_button.setVisible(done > 0)

    def open_folder(self) -> None:
        if self.last_folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_folder)))

    # -- scans --------------------------------------------------------------------------------

    def choose_scans(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "选择会签表扫描件", str(Path.home()),
            "扫描件 (" + " ".join(f"*{s}" for s in SCAN_SUFFIXES) + ")")
        if files:
            self.attach_scans([Path(f) for f in files])

    def attach_scans(self, files: list[Path]) -> tasks.Task:
        def work(control: tasks.TaskControl) -> list[ScanOutcome]:
            return scans.attach_scans(self.ctx.db, self.ctx.user, files, self.ctx.files_dir,
                                      progress=lambda d, t, s: None if control.cancelled else control.progress(d, t, s),
                                      cancelled=lambda: control.cancelled)

        self.scan_results.clear()
        self.scan_results.addItem(f"正在识别 {len(files)} 个文件…")
        return tasks.run(work, title="正在识别扫描件", parent=self, write=True, on_done=self._scans_done)

    def _scans_done(self, outcomes: list[ScanOutcome]) -> None:
        self.last_scan_results = outcomes
        self.scan_results.clear()
        for o in outcomes:
            item = QListWidgetItem(f"{'✔ 已归档' if o.attached else '✘ 未归档'}  {o.file.name}：{o.message}")
            item.setForeground(Qt.GlobalColor.darkGreen if o.attached else Qt.GlobalColor.darkRed)
            item.setToolTip(str(o.file))
            self.scan_results.addItem(item)
        if any(o.attached for o in outcomes):
            self.ctx.nav.data_changed.emit()

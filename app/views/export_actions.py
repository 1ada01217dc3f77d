"""Export buttons for the ledger and 一村一档 screens.

Each function asks where to save (unless given a path), runs the export off the GUI
thread through ``tasks.run`` (a progress dialog with 取消 appears after half a second),
and tells the user where the file went, offering to open it. A cancelled or failed export
leaves no file behind. The work itself is ``app.excel.exporter``; nothing here touches
the database directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QMessageBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.excel import exporter
from app.excel.cells import Progress
from app.excel.exporter import ExportResult
from app.services.queries import DemandFilter
from app.services.rates import Period
from app.views import tasks
from app.views.context import AppContext

LAST_DIR_KEY = "export/last_dir"
FILTER = "Excel 工作簿 (*.xlsx)"


def default_dir() -> Path:
    saved = QSettings().value(LAST_DIR_KEY, "")
    if saved and Path(str(saved)).is_dir():
        return Path(str(saved))
    return Path.home()


def ask_save_path(parent: QWidget | None, suggested: str, caption: str = "导出为 Excel") -> Path | None:
    """A save dialog starting in the last export folder; the name always ends in .xlsx."""
    name, _ = QFileDialog.getSaveFileName(parent, caption, str(default_dir() / suggested), FILTER)
    if not name:
        return None
    path = Path(name)
    if path.suffix.lower() != ".xlsx":
        path = path.with_name(path.name + ".xlsx")
    QSettings().setValue(LAST_DIR_KEY, str(path.parent))
    return path


def safe_file_name(text: str) -> str:
    for ch in '\\/:*?"<>|':
        text = text.replace(ch, "_")
    return text.strip() or "台账"


def _run(parent: QWidget | None, title: str, path: Path,
         work: Callable[[Progress], ExportResult],
         on_done: Callable[[ExportResult], None] | None = None) -> tasks.Task:
    def job(control: tasks.TaskControl) -> ExportResult:
        return work(control.progress)

    def done(result: ExportResult) -> None:
        if on_done is not None:
            on_done(result)
        else:
            show_done(parent, result)

    def cancelled() -> None:
        tasks.show_message(parent, f"已取消导出，未生成文件 {path.name}。", "导出")

    return tasks.run(job, title=title, parent=parent, on_done=done, on_cancel=cancelled)


def show_done(parent: QWidget | None, result: ExportResult) -> QMessageBox:
    """Where the file went, with buttons to open it or its folder."""
    box = QMessageBox(QMessageBox.Icon.Information, "导出完成",
                      f"已导出 {result.rows} 条诉求。\n文件：{result.path}", QMessageBox.StandardButton.Close, parent)
    open_file = box.addButton("打开文件", QMessageBox.ButtonRole.AcceptRole)
    open_dir = box.addButton("打开所在文件夹", QMessageBox.ButtonRole.ActionRole)
    box.button(QMessageBox.StandardButton.Close).setText("关闭")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def clicked(button: Any) -> None:
        if button is open_file:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.path)))
        elif button is open_dir:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.path.parent)))

    box.buttonClicked.connect(clicked)
    box.open()
    return box


# -- what the screens call ------------------------------------------------------------------------


def export_view(parent: QWidget | None, ctx: AppContext, f: DemandFilter | None, columns: list[str], *,
                sort: str = "received", descending: bool = True, title: str = "诉求台账", note: str = "",
                path: Path | None = None,
                on_done: Callable[[ExportResult], None] | None = None) -> tasks.Task | None:
    """The ledger as shown: its filter, its visible columns in their order, its sort order."""
    path = path or ask_save_path(parent, f"{safe_file_name(title)}-{date.today():%Y%m%d}.xlsx", "导出当前台账")
    if path is None:
        return None
    return _run(parent, "正在导出台账", path, lambda progress: exporter.export_view(
        ctx.db, path, f, columns, sort=sort, descending=descending, title=title, note=note, progress=progress),
        on_done)


def export_district_ledger(parent: QWidget | None, ctx: AppContext, f: DemandFilter | None = None, *,
                           title: str = "", path: Path | None = None,
                           on_done: Callable[[ExportResult], None] | None = None) -> tasks.Task | None:
    """The selected demands in the district's ledger layout (排查台账)."""
    f = f or DemandFilter()
    suggested = f"排查台账-{exporter.period_text(f.received_from, f.received_to)}.xlsx"
    path = path or ask_save_path(parent, safe_file_name(suggested), "按区台账格式导出")
    if path is None:
        return None
    return _run(parent, "正在导出区台账格式", path,
                lambda progress: exporter.export_ledger(ctx.db, path, f, title=title, progress=progress), on_done)


def export_village_workbook(parent: QWidget | None, ctx: AppContext, period: Period | None = None,
                            village_ids: list[int] | None = None, *, path: Path | None = None,
                            on_done: Callable[[ExportResult], None] | None = None) -> tasks.Task | None:
    """一村一档: a summary sheet with each village's rates, then one sheet per village."""
    if period is None:
        period = PeriodDialog.ask(parent)
        if period is None:
            return None
    suggested = f"一村一档-{exporter.period_text(period.start, period.end)}.xlsx"
    path = path or ask_save_path(parent, safe_file_name(suggested), "导出一村一档")
    if path is None:
        return None
    return _run(parent, "正在导出一村一档", path, lambda progress: exporter.export_villages(
        ctx.db, path, period, village_ids, progress=progress), on_done)


class PeriodDialog(QDialog):
    """Choose a month, or a range of dates, for an export."""

    def __init__(self, parent: QWidget | None = None, today: date | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("选择统计期")
        today = today or date.today()
        self.by_month = QRadioButton("按月")
        self.by_range = QRadioButton("自定义起止日期")
        self.by_month.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.by_month)
        group.addButton(self.by_range)
        self.month = QComboBox()
        year, month = today.year, today.month
        for _ in range(36):
            self.month.addItem(f"{year}年{month}月", f"{year}-{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        self.start = QDateEdit(QDate(today.year, 1, 1))
        self.end = QDateEdit(QDate(today.year, today.month, today.day))
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        form = QFormLayout()
        form.addRow(self.by_month, self.month)
        dates = QHBoxLayout()
        dates.addWidget(self.start)
        dates.addWidget(self.end)
        form.addRow(self.by_range, dates)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def period(self) -> Period:
        if self.by_month.isChecked():
            return Period.month(str(self.month.currentData()))
        start, end = self.start.date().toPython(), self.end.date().toPython()
        return Period(min(start, end), max(start, end))

    @classmethod
    def ask(cls, parent: QWidget | None) -> Period | None:
        dialog = cls(parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.period()

"""Previewing a PDF inside the program (QtPdf), printing it through the system printer
dialog, saving a copy, or opening it in the PC's own PDF program.

``PdfPreview`` is the widget (the 报表报送 screen embeds it); ``PdfPreviewDialog(path)`` is
a window around it for the demand detail screen's dossier and sign-off sheet;
``preview_generated`` makes a document in the background and then shows it.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views import tasks

log = logging.getLogger(__name__)
PRINT_MAX_DPI = 300
ZOOM_STEP = 1.25
_scratch: Path | None = None


def scratch_dir() -> Path:
    """A new folder for documents made to be previewed; all removed when the program ends."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="kuaichu-preview-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=_scratch))


class PdfPreview(QWidget):
    """A PDF viewer with 打印, 另存为 and 用其他程序打开."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

        self.title = QLabel("尚未生成文档")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pages = QLabel("")
        self.zoom_out = QPushButton("缩小")
        self.zoom_in = QPushButton("放大")
        self.fit_width = QPushButton("适合宽度")
        self.fit_page = QPushButton("整页")
        self.print_button = QPushButton("打印…")
        self.save_button = QPushButton("另存为…")
        self.open_button = QPushButton("用其他程序打开")
        self.zoom_out.clicked.connect(lambda: self._zoom(1 / ZOOM_STEP))
        self.zoom_in.clicked.connect(lambda: self._zoom(ZOOM_STEP))
        self.fit_width.clicked.connect(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth))
        self.fit_page.clicked.connect(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitInView))
        self.print_button.clicked.connect(self.print_document)
        self.save_button.clicked.connect(self.save_as)
        self.open_button.clicked.connect(self.open_external)
        self.print_button.setToolTip("通过系统打印对话框选择打印机、页码范围和份数")
        self.open_button.setToolTip("用电脑上的 PDF 阅读器打开（可另存、打印）")

        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.pages)
        for b in (self.zoom_out, self.zoom_in, self.fit_width, self.fit_page, self.print_button, self.save_button,
                  self.open_button):
            bar.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._set_enabled(False)

    # -- loading -----------------------------------------------------------------------

    def _set_enabled(self, on: bool) -> None:
        for b in (self.zoom_out, self.zoom_in, self.fit_width, self.fit_page, self.print_button, self.save_button,
                  self.open_button):
            b.setEnabled(on)

    def load(self, path: Path, title: str | None = None) -> bool:
        """Show a PDF; False (with the reason shown) when it cannot be read."""
        self.document.close()
        error = self.document.load(str(path))
        if error != QPdfDocument.Error.None_:
            self.path = None
            self._set_enabled(False)
            self.title.setText(f"无法打开 {Path(path).name}（{error.name}）")
            self.pages.setText("")
            return False
        self.path = Path(path)
        self.title.setText(title or self.path.name)
        self.pages.setText(f"共 {self.document.pageCount()} 页")
        self._set_enabled(True)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        return True

    def clear(self) -> None:
        self.document.close()
        self.path = None
        self.title.setText("尚未生成文档")
        self.pages.setText("")
        self._set_enabled(False)

    def page_count(self) -> int:
        return self.document.pageCount()

    def _zoom(self, factor: float) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(0.1, min(8.0, self.view.zoomFactor() * factor)))

    # -- output --------------------------------------------------------------------------

    def print_document(self) -> None:
        if self.path is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.path.name)
        printer.setFromTo(1, self.document.pageCount())
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("打印")
        dialog.setMinMax(1, self.document.pageCount())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            self.print_to(printer)
        except RuntimeError as exc:
            QMessageBox.warning(self, "打印失败", str(exc))

    def print_to(self, printer: QPrinter) -> int:
        """Paint the chosen pages onto the printer; returns the number of pages sent."""
        first = max(1, printer.fromPage() or 1)
        last = min(self.document.pageCount(), printer.toPage() or self.document.pageCount())
        dpi = min(printer.resolution(), PRINT_MAX_DPI)
        painter = QPainter()
        if not painter.begin(printer):
            raise RuntimeError("无法连接打印机，请检查打印机是否可用")
        sent = 0
        try:
            for number in range(first, last + 1):
                if sent:
                    printer.newPage()
                points = self.document.pagePointSize(number - 1)
                size = QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
                image = self.document.render(number - 1, size)
                target = QRectF(printer.pageLayout().paintRectPixels(printer.resolution()))
                target.moveTo(QPointF(0, 0))
                scale = min(target.width() / image.width(), target.height() / image.height())
                w, h = image.width() * scale, image.height() * scale
                painter.drawImage(QRectF((target.width() - w) / 2, (target.height() - h) / 2, w, h), image)
                sent += 1
        finally:
            painter.end()
        return sent

    def save_as(self) -> None:
        if self.path is None:
            return
        target, _ = QFileDialog.getSaveFileName(self, "另存为", str(Path.home() / self.path.name), "PDF 文件 (*.pdf)")
        if not target:
            return
        if not target.lower().endswith(".pdf"):
            target += ".pdf"
        try:
            shutil.copyfile(self.path, target)
        except OSError as exc:
            QMessageBox.warning(self, "保存失败", f"无法保存到 {target}：{exc}")

    def open_external(self) -> None:
        if self.path is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path))):
            QMessageBox.information(self, "提示", "这台电脑没有设置打开 PDF 的程序，请用“另存为”保存后再打开。")


class PdfPreviewDialog(QDialog):
    """A window showing one PDF, e.g. a demand's dossier or its sign-off sheet."""

    def __init__(self, path: Path | str, parent: QWidget | None = None, title: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title or f"预览 — {Path(path).name}")
        self.resize(960, 1000)
        self.preview = PdfPreview(self)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.preview.load(Path(path), title)


def preview_generated(parent: QWidget | None, title: str, file_name: str, make: Callable[[Path], Path]) -> tasks.Task:
    """Make a document off the GUI thread into a temporary file, then show it in a dialog.

    ``make(out)`` writes the PDF (e.g. ``lambda out: make_dossier(ctx.db, code, out)``).
    Errors (an unknown case number…) are shown in a message box.
    """
    folder = scratch_dir()

    def shown(path: Path) -> None:
        dialog = PdfPreviewDialog(path, parent, title)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: shutil.rmtree(folder, ignore_errors=True))
        dialog.show()

    return tasks.run(lambda _control: make(folder / file_name), title=f"正在生成{title}", parent=parent,
                     on_done=shown, cancellable=False)

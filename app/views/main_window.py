"""The main window: navigation on the left, the screens in a stack, live counts below."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import shiboken6
import sqlalchemy as sa
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QFont
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import __version__, paths
from app.services import calendar, queries
from app.services.queries import DemandFilter
from app.views import tasks
from app.views.context import AppContext
from app.views.detail import DetailDialog
from app.views.ledger import LedgerView
from app.vocab import role_labels

if TYPE_CHECKING:
    from app.views.import_wizard import ImportWizard

log = logging.getLogger(__name__)
COUNTS_REFRESH_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    module: str | None  # module and class of the screen, imported when first shown
    cls: str | None
    placeholder: str = ""  # shown while the screen's module is not there yet


PAGES: tuple[Page, ...] = (
    Page("dashboard", "工作台", "app.views.dashboard", "DashboardView"),
    Page("intake", "受理登记", "app.views.intake", "IntakeView"),
    Page("ledger", "诉求台账", None, None),
    Page("villages", "一村一档", "app.views.villages", "VillagesView"),
    Page("warnings", "预警督办", "app.views.warnings", "WarningsView"),
    Page("reports", "报表报送", "app.views.reports_view", "ReportsView",
         "报表报送（月度台账、一案一卷、统计与报送包）将在下一版本提供。"),
    Page("settings", "设置", "app.views.settings_view", "SettingsView"),
)
PAGE_INDEX = {p.key: i for i, p in enumerate(PAGES)}


def database_label(url: str) -> str:
    """The database as the status bar shows it: a file name, or the URL without its password."""
    db_file = paths.sqlite_path(url)
    if db_file is not None:
        return db_file.name
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def placeholder(text: str, parent: QWidget | None = None) -> QWidget:
    page = QWidget(parent)
    layout = QVBoxLayout(page)
    label = QLabel(text, page)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("color: #8c8c8c; font-size: 15px;")
    layout.addWidget(label)
    return page


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, start_page: str = "dashboard") -> None:
        super().__init__()
        self.ctx = ctx
        self.pages: dict[str, QWidget] = {}
        self.dialogs: dict[int, DetailDialog] = {}
        self.import_wizard: ImportWizard | None = None
        self.overdue = self.due_soon = -1
        self.setWindowTitle(f"快处台账 {__version__} — 群众诉求快处中心")
        self.resize(1360, 860)
        self._build()
        self._restore_geometry()
        ctx.nav.open_ledger.connect(self.open_ledger)
        ctx.nav.open_demand.connect(self.open_demand)
        self._counts_timer = QTimer(self)
        self._counts_timer.setInterval(COUNTS_REFRESH_MS)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self._counts_timer.start()
        self._changed_timer = QTimer(self)  # several writes in a row: count once
        self._changed_timer.setSingleShot(True)
        self._changed_timer.setInterval(300)
        self._changed_timer.timeout.connect(self.refresh_counts)
        ctx.nav.data_changed.connect(lambda: self._changed_timer.start())
        self.show_page(start_page)
        self.refresh_counts()

    # -- building ----------------------------------------------------------------------

    def _build(self) -> None:
        split = QSplitter(Qt.Orientation.Horizontal, self)
        self.nav_list = QListWidget(split)
        self.nav_list.setObjectName("navigation")
        nav_font = QFont(self.nav_list.font())
        nav_font.setPointSizeF(nav_font.pointSizeF() * 1.15)
        self.nav_list.setFont(nav_font)
        self.nav_list.setMinimumWidth(120)
        self.nav_list.setMaximumWidth(200)
        self.nav_list.setStyleSheet(
            "QListWidget { background: #f3f5f8; border: none; }"
            "QListWidget::item { padding: 10px 14px; }"
            "QListWidget::item:selected { background: #1677ff; color: white; }")
        for page in PAGES:
            item = QListWidgetItem(page.title, self.nav_list)
            item.setSizeHint(QSize(120, 42))
        self.stack = QStackedWidget(split)
        for _ in PAGES:
            self.stack.addWidget(QWidget(self.stack))  # replaced by the screen when first shown
        split.addWidget(self.nav_list)
        split.addWidget(self.stack)
        split.setStretchFactor(1, 1)
        split.setSizes([150, 1200])
        self.setCentralWidget(split)
        self.nav_list.currentRowChanged.connect(self._nav_changed)

        bar = self.statusBar()
        self.db_label = QLabel(f"数据库：{database_label(self.ctx.db.url)}", self)
        self.db_label.setToolTip(self.ctx.db.url.split("@")[-1] if "@" in self.ctx.db.url else self.ctx.db.url)
        user = self.ctx.user
        self.user_label = QLabel(f"用户：{user.name}（{role_labels(user.roles) or '无角色'}）", self)
        self.counts_label = QLabel("超期 … / 临期 …", self)
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.linkActivated.connect(self._count_clicked)
        self.counts_label.setToolTip("点击数字查看对应诉求")
        self.calendar_label = QLabel("", self)
        self.calendar_label.setObjectName("calendar_warning")
        self.calendar_label.setTextFormat(Qt.TextFormat.RichText)
        self.calendar_label.linkActivated.connect(lambda _link: self.show_page("settings"))
        self.calendar_label.hide()
        bar.addWidget(self.db_label)
        bar.addWidget(self.user_label)
        bar.addPermanentWidget(self.calendar_label)
        bar.addPermanentWidget(self.counts_label)

        menu = self.menuBar()
        file_menu = menu.addMenu("文件")
        self.import_action = QAction("导入台账…", self)
        self.import_action.setObjectName("import_ledger")
        self.import_action.setStatusTip("把已有的 Excel/WPS/CSV 台账导入本程序")
        self.import_action.setEnabled(self.ctx.can("import"))
        if not self.import_action.isEnabled():
            self.import_action.setStatusTip("导入台账需要登记员或管理员角色")
            self.import_action.setToolTip("导入台账需要登记员或管理员角色")
            file_menu.setToolTipsVisible(True)
        self.import_action.triggered.connect(self.open_import_wizard)
        file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        file_menu.addAction("刷新", self.ctx.nav.data_changed.emit)
        file_menu.addSeparator()
        file_menu.addAction("退出", self.close)
        help_menu = menu.addMenu("帮助")
        help_menu.addAction("打开数据与日志文件夹", self._open_data_dir)

    def page(self, key: str) -> QWidget:
        """The screen of a navigation entry, created when first asked for."""
        if key not in self.pages:
            index = PAGE_INDEX[key]
            widget = self._create(PAGES[index])
            old = self.stack.widget(index)
            self.stack.removeWidget(old)
            old.deleteLater()
            self.stack.insertWidget(index, widget)
            self.pages[key] = widget
        return self.pages[key]

    def _create(self, page: Page) -> QWidget:
        if page.key == "ledger":
            return LedgerView(self.ctx, parent=self.stack)
        missing = page.placeholder or f"“{page.title}”将在下一版本提供。"
        if page.module is None or page.cls is None:
            return placeholder(missing, self.stack)
        try:
            module = importlib.import_module(page.module)
        except ModuleNotFoundError as exc:
            if exc.name != page.module:
                log.exception("screen %s could not be imported", page.module)
                return placeholder(f"“{page.title}”加载失败，详细信息已写入日志。", self.stack)
            return placeholder(missing, self.stack)
        except Exception:
            log.exception("screen %s could not be imported", page.module)
            return placeholder(f"“{page.title}”加载失败，详细信息已写入日志。", self.stack)
        try:
            return getattr(module, page.cls)(self.ctx, self.stack)
        except Exception:
            log.exception("screen %s.%s could not be created", page.module, page.cls)
            return placeholder(f"“{page.title}”加载失败，详细信息已写入日志。", self.stack)

    def show_page(self, key: str) -> QWidget:
        widget = self.page(key)
        index = PAGE_INDEX[key]
        self.stack.setCurrentIndex(index)
        if self.nav_list.currentRow() != index:
            self.nav_list.blockSignals(True)
            self.nav_list.setCurrentRow(index)
            self.nav_list.blockSignals(False)
        return widget

    def _nav_changed(self, row: int) -> None:
        if 0 <= row < len(PAGES):
            self.show_page(PAGES[row].key)

    def current_page(self) -> str:
        return PAGES[self.stack.currentIndex()].key

    # -- navigation requests --------------------------------------------------------------

    def open_ledger(self, f: DemandFilter | None, title: str = "") -> LedgerView:
        ledger = self.show_page("ledger")
        assert isinstance(ledger, LedgerView)
        ledger.set_filter(f, title)
        return ledger

    def open_demand(self, demand_id: int) -> DetailDialog:
        dialog = self.dialogs.get(demand_id)
        if dialog is None:
            dialog = DetailDialog(self.ctx, demand_id, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.finished.connect(lambda _=0, i=demand_id: self.dialogs.pop(i, None))
            self.dialogs[demand_id] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def open_import_wizard(self) -> ImportWizard | None:
        """文件 › 导入台账…: the wizard, one at a time. The wizard announces the new demands
        (``data_changed``) as soon as they are written; when it closes after an import the
        ledger is shown."""
        if not self.ctx.can("import"):
            return None
        if self.import_wizard is not None and shiboken6.isValid(self.import_wizard):
            self.import_wizard.raise_()
            self.import_wizard.activateWindow()
            return self.import_wizard
        from app.views.import_wizard import ImportWizard  # the Excel readers load when first needed

        wizard = ImportWizard(self.ctx, self)
        wizard.setWindowModality(Qt.WindowModality.WindowModal)
        wizard.finished.connect(lambda _code, w=wizard: self._import_finished(w))
        self.import_wizard = wizard
        wizard.show()
        return wizard

    def _import_finished(self, wizard: ImportWizard) -> None:
        if self.import_wizard is wizard:
            self.import_wizard = None
        result = wizard.result
        if result is not None and result.imported:
            self.show_page("ledger")
        self._dispose_later(wizard)

    def _dispose_later(self, widget: QWidget) -> None:
        """Delete a closed dialog once no background work can still call back into it."""
        if not shiboken6.isValid(widget):
            return
        if tasks.running():
            QTimer.singleShot(500, self, lambda: self._dispose_later(widget))
        else:
            widget.deleteLater()

    # -- the live counts -------------------------------------------------------------------

    def refresh_counts(self) -> None:
        db = self.ctx.db

        def work(control: tasks.TaskControl) -> tuple[int, int, str]:
            today = date.today()
            with db.read() as s:
                return (queries.count(s, DemandFilter(overdue=True), today),
                        queries.count(s, DemandFilter(due_soon=True), today),
                        calendar.coverage(s, today).warning())

        def done(result: tuple[int, int, str]) -> None:
            if not shiboken6.isValid(self):
                return
            self.overdue, self.due_soon, warning = result
            self.calendar_label.setVisible(bool(warning))
            self.calendar_label.setToolTip(warning)
            missing = "节假日数据不完整" if "只录入了" in warning and "未覆盖" not in warning else "节假日数据未覆盖"
            self.calendar_label.setText(f'<a href="settings" style="color:#cf1322;">⚠ {missing}</a>')
            self.counts_label.setText(
                f'<a href="overdue" style="color:#cf1322;">超期 {self.overdue}</a> / '
                f'<a href="due_soon" style="color:#d48806;">临期 {self.due_soon}</a>')

        def failed(exc: BaseException) -> None:
            log.warning("counting overdue demands failed: %s", exc)
            if shiboken6.isValid(self):
                self.counts_label.setText("超期 ? / 临期 ?")

        tasks.run(work, title="统计超期与临期", on_done=done, on_error=failed, progress=False)

    def _count_clicked(self, which: str) -> None:
        if which == "overdue":
            self.open_ledger(DemandFilter(overdue=True), "已超期")
        else:
            self.open_ledger(DemandFilter(due_soon=True), "临期（即将到期）")

    def _open_data_dir(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.data_dir())))

    # -- geometry --------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry = settings.value("main/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("main/state")
        if state is not None:
            self.restoreState(state)

    def save_geometry(self) -> None:
        settings = QSettings()
        settings.setValue("main/geometry", self.saveGeometry())
        settings.setValue("main/state", self.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_geometry()
        for dialog in list(self.dialogs.values()):
            dialog.close()
        super().closeEvent(event)

"""预警督办: overdue and due-soon demands by unit, repeat petitioners, repeated transfers,
不满意 reworks, and marking a demand as supervised (督办) with a note.

Counts open the ledger filtered to exactly their demands; a demand double-clicked opens
its detail. Only users allowed ``supervise`` (督办, 分管领导, 主要领导) can mark 督办.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import demands
from app.services import warnings as warn
from app.services.dashboard import Figure
from app.services.queries import Row
from app.services.warnings import DemandList, WarningsData
from app.views import tasks
from app.views.background import BackgroundReader, RefreshOnShow
from app.views.context import AppContext
from app.views.dashboard import AMBER, RED, FigureButton

ID_ROLE = Qt.ItemDataRole.UserRole
UNIT_COLUMNS = (("name", "责任单位"), ("level", "级别"), ("open", "在办"), ("due_soon", "临期"),
                ("overdue", "超期"), ("supervised", "已督办"))
DEMAND_COLUMNS = ("编码", "村(社区)", "反映人", "类型", "责任单位", "状态", "办理期限", "剩余工作日", "内容")
REPEAT_COLUMNS = ("反映人", "联系方式", "村(社区)", "诉求件数", "首次", "最近", "在办")


def _item(text: str, data: object = None, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if data is not None:
        item.setData(ID_ROLE, data)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class DemandTable(QWidget):
    """One warning list: a table of demands and a link to the whole list in the ledger."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.hint = QLabel("")
        self.hint.setStyleSheet("color: #555;")
        layout.addWidget(self.hint)
        self.table = _table(DEMAND_COLUMNS)
        layout.addWidget(self.table, 1)
        foot = QHBoxLayout()
        self.count = QLabel("")
        foot.addWidget(self.count, 1)
        self.open_all = QPushButton("在台账中查看全部")
        foot.addWidget(self.open_all)
        layout.addLayout(foot)
        self.data: DemandList | None = None

    def show_list(self, data: DemandList) -> None:
        self.data = data
        self.hint.setText(data.hint)
        table = self.table
        table.setRowCount(len(data.rows))
        for r, row in enumerate(data.rows):
            remaining = "" if row.remaining is None else str(row.remaining)
            cells = [row.code, row.village, row.petitioner, row.type, row.unit, row.status,
                     f"{row.deadline or ''}{'（暂定）' if row.provisional else ''}", remaining, row.content]
            for c, text in enumerate(cells):
                item = _item(text, row.id, align_right=c == 7)
                if c == 7 and row.remaining is not None:
                    colour = RED if row.clock == "已超期" else AMBER if row.clock == "即将到期" else None
                    if colour:
                        item.setForeground(QBrush(QColor(colour)))
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        table.setColumnWidth(8, max(table.columnWidth(8), 240))
        shown = f"，显示前 {len(data.rows)} 件" if data.total > len(data.rows) else ""
        self.count.setText(f"共 {data.total} 件{shown}；双击打开诉求")

    def selected_row(self) -> Row | None:
        if self.data is None:
            return None
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0].row()
        return self.data.rows[index] if index < len(self.data.rows) else None


class WarningsView(RefreshOnShow, QWidget):
    """The 预警督办 screen."""

    loaded = Signal()
    supervised = Signal(int)  # demand id, after a 督办 was recorded
    supervise_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.data: WarningsData | None = None
        self._stale = True
        self.reader = BackgroundReader(ctx.db, self)
        self.reader.finished.connect(self._show)
        self.reader.failed.connect(lambda m: self.status.setText(m))
        ctx.nav.data_changed.connect(self._on_data_changed)

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel("预警督办")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        head.addWidget(title)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #666;")
        head.addWidget(self.status, 1)
        refresh = QPushButton("刷新(F5)")
        refresh.setShortcut("F5")
        refresh.clicked.connect(self.refresh)
        head.addWidget(refresh)
        outer.addLayout(head)

        chips = QHBoxLayout()
        self.tiles: dict[str, FigureButton] = {}
        for key, label, colour in (("overdue", "超期", RED), ("due_soon", "临期", AMBER),
                                   ("repeats", "重复诉求人", "#6a1b9a"), ("transferred", "多次移交", "#1565c0"),
                                   ("rework", "不满意二次整改", RED), ("supervised", "已督办在办", "#37474f")):
            tile = FigureButton(label, colour)
            tile.setMinimumSize(110, 64)
            tile.clicked.connect(lambda _=False, k=key: self.open_tile(k))
            self.tiles[key] = tile
            chips.addWidget(tile)
        outer.addLayout(chips)

        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        units_page = QWidget()
        ul = QVBoxLayout(units_page)
        ul.setContentsMargins(0, 4, 0, 0)
        units_hint = QLabel("各责任单位当前在办、临期、超期诉求；点击数字在台账中查看这些诉求")
        units_hint.setStyleSheet("color: #555;")
        ul.addWidget(units_hint)
        self.unit_table = _table(tuple(t for _k, t in UNIT_COLUMNS))
        self.unit_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.unit_table.cellClicked.connect(self.open_unit_cell)
        self.unit_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.unit_table.horizontalHeader().setStretchLastSection(False)
        ul.addWidget(self.unit_table, 1)
        self.unassigned_label = QLabel("")
        ul.addWidget(self.unassigned_label)
        self.tabs.addTab(units_page, "按责任单位")

        self.lists: dict[str, DemandTable] = {}
        for key, (label, _hint, _f) in warn.LISTS.items():
            page = DemandTable()
            page.table.doubleClicked.connect(lambda index, p=page: self._open_demand(p, index.row()))
            page.table.itemSelectionChanged.connect(self._selection_changed)
            page.open_all.clicked.connect(lambda _=False, k=key: self.open_list(k))
            self.lists[key] = page
            self.tabs.addTab(page, label)
            if key == "due_soon":
                self._add_repeat_tab()
        self.tabs.currentChanged.connect(lambda _i: self._selection_changed())

        box = QGroupBox("督办")
        bl = QHBoxLayout(box)
        self.selected_label = QLabel("在上方列表中选择一件诉求")
        self.selected_label.setMinimumWidth(320)
        bl.addWidget(self.selected_label, 2)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("督办意见，如：请于 3 个工作日内办结并报送佐证材料")
        self.note_edit.returnPressed.connect(self.supervise)
        bl.addWidget(self.note_edit, 3)
        self.supervise_button = QPushButton("标记督办")
        self.supervise_button.clicked.connect(self.supervise)
        bl.addWidget(self.supervise_button)
        outer.addWidget(box)
        self.permission_note = QLabel("")
        self.permission_note.setStyleSheet(f"color: {RED};")
        outer.addWidget(self.permission_note)
        if not ctx.can("supervise"):
            self.permission_note.setText(f"用户“{ctx.user.name}”不能督办（需要“督办”“分管领导”或“主要领导”角色），只能查看。")
            self.note_edit.setEnabled(False)
        else:
            self.permission_note.hide()
        self._selection_changed()

    def _add_repeat_tab(self) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        self.repeat_hint = QLabel("")
        self.repeat_hint.setStyleSheet("color: #555;")
        layout.addWidget(self.repeat_hint)
        self.repeat_table = _table(REPEAT_COLUMNS)
        self.repeat_table.doubleClicked.connect(lambda index: self.open_repeat(index.row()))
        layout.addWidget(self.repeat_table, 1)
        self.repeat_page = page
        self.tabs.addTab(page, "重复诉求人")

    # -- loading -----------------------------------------------------------------------

    def refresh(self) -> None:
        self._stale = False
        self.status.setText("正在统计…")
        self.reader.start(warn.compute)

    def _show(self, data: WarningsData) -> None:
        self.data = data
        self.status.setText(f"统计日期 {data.today.isoformat()}；双击诉求打开详情，选中后可标记督办")
        lists = data.lists
        for key in ("overdue", "due_soon", "transferred", "rework", "supervised"):
            dl = lists[key]
            self.tiles[key].show_figure(Figure(key, dl.title, dl.total, dl.title, dl.filter, dl.hint))
        self.tiles["repeats"].show_figure(Figure(
            "repeats", "重复诉求人", len(data.repeats), "重复诉求人", None,
            f"{data.repeat_window_days} 天内反映 2 件及以上的反映人；点击查看名单"))
        self.tiles["repeats"].setToolTip(f"{data.repeat_window_days} 天内反映 2 件及以上的反映人；点击查看名单")
        self.tiles["repeats"].setCursor(Qt.CursorShape.PointingHandCursor)
        self._fill_units(data)
        self._fill_repeats(data)
        for key, page in self.lists.items():
            page.show_list(lists[key])
            index = self.tabs.indexOf(page)
            self.tabs.setTabText(index, f"{lists[key].title}（{lists[key].total}）")
        self.tabs.setTabText(self.tabs.indexOf(self.repeat_page), f"重复诉求人（{len(data.repeats)}）")
        self._selection_changed()
        self.loaded.emit()

    def _fill_units(self, data: WarningsData) -> None:
        table = self.unit_table
        table.setRowCount(len(data.units))
        for r, u in enumerate(data.units):
            for c, (key, _title) in enumerate(UNIT_COLUMNS):
                value = getattr(u, key)
                item = _item(str(value) if value != 0 else ("0" if key == "open" else ""), r, c >= 2)
                if key == "overdue" and u.overdue:
                    item.setForeground(QBrush(QColor(RED)))
                elif key == "due_soon" and u.due_soon:
                    item.setForeground(QBrush(QColor(AMBER)))
                if c >= 2 and value:
                    item.setToolTip("点击在台账中查看")
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.unassigned_label.setText(f"尚未交办（待甄别、待复核、待交办）的在办诉求：{data.unassigned} 件")

    def _fill_repeats(self, data: WarningsData) -> None:
        self.repeat_hint.setText(f"{data.repeat_since.isoformat()} 以来（{data.repeat_window_days} 天内）反映 2 件及以上的反映人；"
                                 "双击在台账中查看其诉求")
        table = self.repeat_table
        table.setRowCount(len(data.repeats))
        for r, p in enumerate(data.repeats):
            cells = [p.name, p.phone, p.village, str(p.count), p.first.isoformat(), p.last.isoformat(), str(p.open)]
            for c, text in enumerate(cells):
                table.setItem(r, c, _item(text, r, c in (3, 6)))
        table.resizeColumnsToContents()

    # -- navigation ----------------------------------------------------------------------

    def open_tile(self, key: str) -> None:
        if key == "repeats":
            self.tabs.setCurrentWidget(self.repeat_page)
            return
        self.open_list(key)

    def open_list(self, key: str) -> None:
        if self.data is None:
            return
        dl = self.data.lists[key]
        self.ctx.nav.open_ledger.emit(dl.filter, dl.title)

    def open_unit_cell(self, row: int, column: int) -> None:
        if self.data is None or column < 2 or row >= len(self.data.units):
            return
        unit = self.data.units[row]
        key, title = UNIT_COLUMNS[column]
        if getattr(unit, key):
            self.ctx.nav.open_ledger.emit(unit.filter(key), f"{unit.name} {title}诉求")

    def open_repeat(self, row: int) -> None:
        if self.data is None or row >= len(self.data.repeats):
            return
        p = self.data.repeats[row]
        self.ctx.nav.open_ledger.emit(p.filter(self.data.repeat_since),
                                      f"{p.name} {self.data.repeat_window_days} 天内的诉求")

    def _open_demand(self, page: DemandTable, row: int) -> None:
        if page.data is not None and row < len(page.data.rows):
            self.ctx.nav.open_demand.emit(page.data.rows[row].id)

    # -- 督办 -------------------------------------------------------------------------

    def selected_demand(self) -> Row | None:
        page = self.tabs.currentWidget()
        return page.selected_row() if isinstance(page, DemandTable) else None

    def select_demand(self, key: str, row: int) -> None:
        """Show list ``key`` and select its ``row`` (as a click would)."""
        page = self.lists[key]
        self.tabs.setCurrentWidget(page)
        page.table.selectRow(row)

    def _selection_changed(self) -> None:
        row = self.selected_demand()
        allowed = self.ctx.can("supervise")
        self.supervise_button.setEnabled(allowed and row is not None)
        if row is None:
            self.selected_label.setText("在上方诉求列表中选择一件诉求")
        else:
            content = row.content if len(row.content) <= 24 else row.content[:24] + "…"
            self.selected_label.setText(f"<b>{row.code}</b>　{row.village}　{content}")
            self.selected_label.setToolTip(f"{row.code} {row.unit}\n{row.content}")

    def supervise(self) -> None:
        row = self.selected_demand()
        if not self.ctx.can("supervise"):
            self.supervise_failed.emit(self.permission_note.text())
            return
        if row is None:
            self.supervise_failed.emit("请先选择一件诉求")
            return
        note = self.note_edit.text().strip()
        if not note:
            self.permission_note.setText("督办意见：不能为空")
            self.permission_note.show()
            self.note_edit.setFocus()
            self.supervise_failed.emit("督办意见：不能为空")
            return
        db, user, demand_id = self.ctx.db, self.ctx.user, row.id

        def work(_control: tasks.TaskControl) -> int:
            with db.write() as s:
                demands.supervise(s, user, demand_id, note)
            return demand_id

        def done(did: int) -> None:
            self.note_edit.clear()
            self.permission_note.hide()
            self.status.setText(f"已督办 {row.code}")
            self.supervised.emit(did)
            self.ctx.nav.data_changed.emit()

        def failed(exc: BaseException) -> None:
            self.permission_note.setText(f"未督办：{exc}")
            self.permission_note.show()
            self.supervise_failed.emit(str(exc))

        self.supervise_button.setEnabled(False)
        tasks.run(work, title="正在督办", parent=self, on_done=done, on_error=failed, write=True,
                  progress=False)

"""诉求台账: the ledger table, lazy enough for 200,000 demands, with its filter bar.

``LedgerModel`` holds only the ids of the demands the filter selects, in the order the
database sorted them (one query, run off the GUI thread). Rows are read a page at a
time when the view first asks for one of them, and only a bounded number of pages is
kept. ``LedgerView`` is the filter bar, the count and the table; it can be given a fixed
base filter (一村一档 embeds it for one village) and a preset filter with a title (the
dashboard opens it filtered to exactly the demands behind a number).
"""

from __future__ import annotations

import logging
from array import array
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.db import Database
from app.services import queries
from app.services.queries import DemandFilter, Row, remaining_text
from app.views import tasks
from app.views.context import AppContext
from app.vocab import ClockState, DemandType, Status

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()

DemandIdRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class Column:
    key: str  # also the sort key of queries.SORT_COLUMNS
    title: str
    width: int


COLUMNS: tuple[Column, ...] = (
    Column("code", "编码", 170),
    Column("received", "受理日期", 92),
    Column("petitioner", "反映人", 72),
    Column("village", "村(社区)", 86),
    Column("type", "类型", 48),
    Column("category", "类别", 170),
    Column("content", "内容摘要", 320),
    Column("unit", "责任单位", 140),
    Column("status", "状态", 72),
    Column("remaining", "剩余工作日", 96),
    Column("satisfaction", "满意度", 64),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}

CLOCK_COLOURS = {
    ClockState.DUE_SOON.label: QColor("#ffe58f"),
    ClockState.OVERDUE.label: QColor("#ff8f8f"),
    ClockState.PAUSED.label: QColor("#d6d6d6"),
}


def cell_text(row: Row, key: str) -> str:
    match key:
        case "received":
            return row.received.isoformat()
        case "content":
            text = " ".join(row.content.split())
            return text if len(text) <= 60 else text[:60] + "…"
        case "remaining":
            return remaining_text(row)
        case _:
            return str(getattr(row, key))


class LedgerModel(QAbstractTableModel):
    """Ids of the selected demands in order; rows read lazily, a page at a time."""

    loaded = Signal(int)  # the number of demands, each time a new id list is in place
    first_page = Signal(int)  # the first page of a new selection is shown, the count is not known yet
    PAGE = 200
    MAX_PAGES = 60

    def __init__(self, db: Database, parent: Any = None) -> None:
        super().__init__(parent)
        self.db = db
        self._ids = array("q")
        self._pages: OrderedDict[int, list[Row | None]] = OrderedDict()
        self._filter: DemandFilter | None = DemandFilter()
        self.sort_key = "received"
        self.descending = True
        self._today = date.today()
        self._generation = 0
        self._task: tasks.Task | None = None
        self._first_task: tasks.Task | None = None
        self._partial = False  # showing only the first page of the selection
        self.loading = False
        self.has_loaded = False
        self.page_loads = 0  # how many pages were read (for tests and measurements)

    # -- the id list -----------------------------------------------------------------

    @property
    def filter(self) -> DemandFilter | None:
        return self._filter

    def set_query(self, f: DemandFilter | None, sort: str | None = None, descending: bool | None = None,
                  background: bool = True) -> None:
        """Select the demands of ``f`` (None: none at all) in this order and load their ids."""
        self._filter = f
        if sort is not None:
            self.sort_key = sort
        if descending is not None:
            self.descending = descending
        self.reload(background, first_page_first=True)

    def reload(self, background: bool = True, first_page_first: bool = False) -> None:
        """Read the id list again. With ``first_page_first`` the first page of ids is shown as
        soon as it is read (a LIMIT query) and the rest appended when the full list arrives."""
        self._generation += 1
        generation = self._generation
        for task in (self._task, self._first_task):
            if task is not None:
                task.cancel()
        f, sort, desc = self._filter, self.sort_key, self.descending
        self.loading = True

        def work(limit: int | None) -> tuple[array, date]:
            today = date.today()
            if f is None:
                return array("q"), today
            with self.db.read() as s:
                ids = queries.ids(s, f, sort=sort, descending=desc, today=today, limit=limit)
            return array("q", ids), today

        def current() -> bool:
            return shiboken6.isValid(self) and generation == self._generation

        def done(result: tuple[array, date]) -> None:
            if current():
                self._task = self._first_task = None
                self._apply(*result)

        def first_done(result: tuple[array, date]) -> None:
            if current() and self.loading:
                self._first_task = None
                self._apply_first(*result)

        def failed(exc: BaseException) -> None:
            if current():
                self._task = self._first_task = None
                self.loading = False
                tasks.show_error(None, exc, "读取台账失败")

        if not background:
            done(work(None))
            return
        if first_page_first:
            self._first_task = tasks.run(lambda control: work(self.PAGE), title="正在读取台账", on_done=first_done,
                                         on_error=lambda exc: None, progress=False)
        self._task = tasks.run(lambda control: work(None), title="正在读取台账", on_done=done, on_error=failed,
                               progress=False)

    def _apply_first(self, ids: array, today: date) -> None:
        """Show the first page while the full list is still being read."""
        if ids == self._ids[: len(ids)] and len(self._ids) >= len(ids):
            return
        self.beginResetModel()
        self._ids = ids
        self._today = today
        self._pages.clear()
        self._partial = True
        self.endResetModel()
        self.first_page.emit(len(ids))

    def _apply(self, ids: array, today: date) -> None:
        self.loading = False
        self.has_loaded = True
        partial, self._partial = self._partial, False
        old = len(self._ids)
        self._today = today
        if ids == self._ids:
            # Same demands in the same order: refresh the rows in place, keep the selection.
            self._pages.clear()
            if ids:
                self.dataChanged.emit(self.index(0, 0), self.index(len(ids) - 1, len(COLUMNS) - 1))
        elif partial and len(ids) > old and ids[:old] == self._ids:
            # The first page is already shown: append the rest.
            self.beginInsertRows(ROOT, old, len(ids) - 1)
            self._ids = ids
            self.endInsertRows()
        else:
            self.beginResetModel()
            self._ids = ids
            self._pages.clear()
            self.endResetModel()
        self.loaded.emit(len(ids))

    # -- rows ------------------------------------------------------------------------

    def demand_id(self, row: int) -> int:
        return self._ids[row]

    def row_of(self, demand_id: int) -> int:
        try:
            return self._ids.index(demand_id)
        except ValueError:
            return -1

    def row_at(self, row: int) -> Row | None:
        if not 0 <= row < len(self._ids):
            return None
        page_no = row // self.PAGE
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page[row % self.PAGE]

    def _fetch(self, page_no: int) -> list[Row | None]:
        chunk = list(self._ids[page_no * self.PAGE:(page_no + 1) * self.PAGE])
        with self.db.read() as s:
            found = {r.id: r for r in queries.rows_by_ids(s, chunk, self._today)}
        page = [found.get(i) for i in chunk]  # None: deleted since the id list was read
        self._pages[page_no] = page
        self.page_loads += 1
        while len(self._pages) > self.MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    def cached_pages(self) -> list[int]:
        return list(self._pages)

    # -- Qt model interface ------------------------------------------------------------

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == DemandIdRole:
            return self._ids[index.row()]
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                        Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, RowRole):
            return None
        row = self.row_at(index.row())
        if row is None:
            return "（已删除）" if role == Qt.ItemDataRole.DisplayRole and index.column() == 0 else None
        if role == RowRole:
            return row
        key = COLUMNS[index.column()].key
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "remaining" and row.deadline:
                tip = f"办理期限 {row.deadline}（{row.clock}）"
                return tip + "\n期限落在节假日数据未覆盖的年份，按周一至周五暂定" if row.provisional else tip
            if key in ("content", "category", "unit"):
                return getattr(row, key)
            return None
        if key == "remaining":
            colour = CLOCK_COLOURS.get(row.clock)
            if role == Qt.ItemDataRole.BackgroundRole and colour is not None:
                return QBrush(colour)
            if role == Qt.ItemDataRole.ForegroundRole and colour is not None:
                return QBrush(QColor("#000000"))
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column].key
        desc = order == Qt.SortOrder.DescendingOrder
        if key != self.sort_key or desc != self.descending or not self.has_loaded:
            self.set_query(self._filter, key, desc)


# -- the view --------------------------------------------------------------------------

ALL = "全部"
OPEN, OPEN_LABEL = "open", "在办（未办结）"  # a status choice: every open state
FLAGS = (("due_soon", "临期"), ("overdue", "超期"), ("extended", "延期"), ("transferred", "移交"),
         ("repeat", "重复"))


class LedgerView(QWidget):
    """The filter bar, the count of matching demands and the lazy table."""

    loaded = Signal(int)
    SEARCH_DELAY_MS = 300

    def __init__(self, ctx: AppContext, base_filter: DemandFilter | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.base_filter = base_filter
        self.preset: DemandFilter | None = None
        self.preset_title = ""
        self.place_name = ""  # what the base filter selects, for export titles (一村一档: the village)
        self.export_task: tasks.Task | None = None  # the last export started from this view
        self.settings_key = "ledger" if base_filter is None else "ledger_embedded"
        self.model = LedgerModel(ctx.db, self)
        self.model.loaded.connect(self._on_loaded)
        self._restore_id: int | None = None
        self._build()
        self._load_choices()
        self._restore_columns()
        ctx.nav.data_changed.connect(self.refresh)
        self.apply()

    # -- building ----------------------------------------------------------------------

    def _combo(self, name: str) -> QComboBox:
        box = QComboBox(self)
        box.setObjectName(name)
        box.setMinimumContentsLength(6)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.currentIndexChanged.connect(self.apply)
        return box

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)

        row1 = QHBoxLayout()
        self.status_box = self._combo("status")
        self.type_box = self._combo("type")
        self.village_box = self._combo("village")
        self.unit_box = self._combo("unit")
        self.category_box = self._combo("category")
        self.channel_box = self._combo("channel")
        self.unit_box.setMinimumContentsLength(10)
        for label, box in (("状态", self.status_box), ("类型", self.type_box), ("村(社区)", self.village_box),
                           ("责任单位", self.unit_box), ("类别", self.category_box), ("来源", self.channel_box)):
            lab = QLabel(label, self)
            lab.setBuddy(box)
            row1.addWidget(lab)
            row1.addWidget(box)
            if box is self.village_box:
                self._village_label = lab
        row1.addStretch(1)
        layout.addLayout(row1)

        row2 = QHBoxLayout()
        self.date_check = QCheckBox("受理日期", self)
        self.date_from = QDateEdit(self)
        self.date_to = QDateEdit(self)
        today = QDate.currentDate()
        for edit, value in ((self.date_from, today.addMonths(-1)), (self.date_to, today)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(value)
            edit.setEnabled(False)
            edit.dateChanged.connect(self.apply)
        self.date_check.toggled.connect(self.date_from.setEnabled)
        self.date_check.toggled.connect(self.date_to.setEnabled)
        self.date_check.toggled.connect(self.apply)
        row2.addWidget(self.date_check)
        row2.addWidget(self.date_from)
        row2.addWidget(QLabel("至", self))
        row2.addWidget(self.date_to)
        row2.addSpacing(12)
        self.flag_boxes: dict[str, QCheckBox] = {}
        for key, label in FLAGS:
            box = QCheckBox(label, self)
            box.setObjectName(key)
            box.toggled.connect(self.apply)
            self.flag_boxes[key] = box
            row2.addWidget(box)
        row2.addSpacing(12)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("搜索：内容、姓名、住址、电话、编码（空格分隔多个词）")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(280)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(self.SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply)
        # Not connected to QTimer.start directly: the str argument would pick the wrong overload.
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self.apply)
        row2.addWidget(self.search, 1)
        self.clear_button = QPushButton("清除筛选", self)
        self.clear_button.clicked.connect(self.clear_filters)
        row2.addWidget(self.clear_button)
        layout.addLayout(row2)

        row3 = QHBoxLayout()
        self.preset_label = QLabel(self)
        self.preset_label.setStyleSheet("QLabel { background: #e6f0ff; border-radius: 3px; padding: 2px 6px; }")
        self.preset_clear = QPushButton("显示全部", self)
        self.preset_clear.clicked.connect(self.clear_preset)
        self.preset_label.hide()
        self.preset_clear.hide()
        row3.addWidget(self.preset_label)
        row3.addWidget(self.preset_clear)
        row3.addStretch(1)
        self.count_label = QLabel(self)
        bold = QFont(self.count_label.font())
        bold.setBold(True)
        self.count_label.setFont(bold)
        row3.addWidget(self.count_label)
        row3.addSpacing(12)
        self.export_view_button = QPushButton("导出当前视图", self)
        self.export_view_button.setObjectName("export_view")
        self.export_view_button.setToolTip("把台账当前显示的诉求导出为 Excel：按当前的筛选条件、排序和显示的列")
        self.export_view_button.clicked.connect(lambda: self.export_current_view())
        self.export_district_button = QPushButton("导出区台账格式", self)
        self.export_district_button.setObjectName("export_district")
        self.export_district_button.setToolTip("按区“排查台账”的列格式导出当前筛选出的诉求（两行表头、A4 横向打印）")
        self.export_district_button.clicked.connect(lambda: self.export_district_ledger())
        row3.addWidget(self.export_view_button)
        row3.addWidget(self.export_district_button)
        layout.addLayout(row3)

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.table.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vh.hide()
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSortIndicatorShown(True)
        for i, col in enumerate(COLUMNS):
            header.resizeSection(i, col.width)
        header.setSortIndicator(COLUMN_INDEX["received"], Qt.SortOrder.DescendingOrder)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        header.sortIndicatorChanged.connect(self._sort_changed)
        header.sectionResized.connect(self._save_columns)
        header.sectionMoved.connect(self._save_columns)
        self.table.doubleClicked.connect(self._open_index)
        open_key = QShortcut(QKeySequence(Qt.Key.Key_Return), self.table)
        open_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        open_key.activated.connect(lambda: self._open_index(self.table.currentIndex()))
        layout.addWidget(self.table, 1)
        self._sync_village_box()

    def _sync_village_box(self) -> None:
        """No village choice when the base filter already fixes the village (一村一档: a
        village, or one of its grids)."""
        base = self.base_filter
        fixed = base is not None and bool(base.village_ids or base.grid_ids)
        self.village_box.setHidden(fixed)
        self._village_label.setHidden(fixed)
        if fixed and self.village_box.currentIndex() != 0:
            self.village_box.blockSignals(True)
            self.village_box.setCurrentIndex(0)
            self.village_box.blockSignals(False)

    def _load_choices(self) -> None:
        with self.ctx.db.read() as s:
            lists = queries.choices(s)
        fill = [
            (self.status_box, [(OPEN_LABEL, OPEN), *((s.label, s) for s in Status)]),
            (self.type_box, [(t.label, t) for t in DemandType]),
            (self.village_box, [(n, i) for i, n in lists.villages]),
            (self.unit_box, [(n, i) for i, n, _ in lists.units]),
            (self.category_box, [(n, i) for i, n in lists.top_categories]),
            (self.channel_box, [(n, i) for i, n in lists.channels]),
        ]
        for box, items in fill:
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(ALL, None)
            for text, data in items:
                box.addItem(text, data)
            at = box.findData(current) if current is not None else 0
            box.setCurrentIndex(max(at, 0))
            box.blockSignals(False)

    # -- filters -----------------------------------------------------------------------

    def bar_filter(self) -> DemandFilter:
        """What the filter bar's widgets select."""
        f = DemandFilter()
        if (v := self.status_box.currentData()) == OPEN:
            f.open_only = True
        elif v is not None:
            f.statuses = [v]
        if (v := self.type_box.currentData()) is not None:
            f.types = [v]
        if (v := self.village_box.currentData()) is not None and not self.village_box.isHidden():
            f.village_ids = [v]
        if (v := self.unit_box.currentData()) is not None:
            f.unit_ids = [v]
        if (v := self.category_box.currentData()) is not None:
            f.category_ids = [v]
        if (v := self.channel_box.currentData()) is not None:
            f.channel_ids = [v]
        if self.date_check.isChecked():
            f.received_from = self.date_from.date().toPython()
            f.received_to = self.date_to.date().toPython()
        for key, box in self.flag_boxes.items():
            setattr(f, key, box.isChecked())
        f.text = self.search.text().strip()
        return f

    def current_filter(self) -> DemandFilter | None:
        """The filter in force: base, preset and bar together (None: nothing can match)."""
        return queries.combine(self.base_filter, self.preset, self.bar_filter())

    def apply(self) -> None:
        self._search_timer.stop()
        self._sync_village_box()
        self.model.set_query(self.current_filter())
        self.count_label.setText("正在查询…")

    def refresh(self) -> None:
        """Read the ids again (after a change anywhere); the selection is kept when possible."""
        self._load_choices()
        self._restore_id = self.selected_id()
        self.model.reload()

    def set_filter(self, f: DemandFilter | None, title: str = "") -> None:
        """Show exactly the demands of ``f`` (within the base filter); the bar is cleared."""
        self._reset_bar()
        self.preset = replace(f) if f is not None else None
        self.preset_title = title
        self.preset_label.setText(f"筛选：{title}" if title else "筛选：指定条件")
        self.preset_label.setVisible(f is not None)
        self.preset_clear.setVisible(f is not None)
        self.apply()

    def set_base_filter(self, f: DemandFilter | None) -> None:
        self.base_filter = f
        self.apply()

    def clear_preset(self) -> None:
        self.set_filter(None)

    def clear_filters(self) -> None:
        self._reset_bar()
        self.apply()

    def _reset_bar(self) -> None:
        widgets = [self.status_box, self.type_box, self.village_box, self.unit_box, self.category_box,
                   self.channel_box, self.date_check, self.search, *self.flag_boxes.values()]
        for w in widgets:
            w.blockSignals(True)
        for box in (self.status_box, self.type_box, self.village_box, self.unit_box, self.category_box,
                    self.channel_box):
            box.setCurrentIndex(0)
        self.date_check.setChecked(False)
        self.date_from.setEnabled(False)
        self.date_to.setEnabled(False)
        for box in self.flag_boxes.values():
            box.setChecked(False)
        self.search.clear()
        for w in widgets:
            w.blockSignals(False)

    # -- results -------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self.model.rowCount()

    def _on_loaded(self, n: int) -> None:
        self.count_label.setText(f"共 {n:,} 件")
        if self._restore_id is not None:
            row = self.model.row_of(self._restore_id)
            if row >= 0:
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
            self._restore_id = None
        self.loaded.emit(n)

    def selected_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.demand_id(index.row()) if index.isValid() else None

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.ctx.nav.open_demand.emit(self.model.demand_id(index.row()))

    def _sort_changed(self, section: int, order: Qt.SortOrder) -> None:
        self.model.sort(section, order)
        self._save_columns()

    # -- what is shown, and exporting it ----------------------------------------------------

    def visible_column_keys(self) -> list[str]:
        """The keys of the shown columns, in the order they are shown (moved columns too)."""
        header = self.table.horizontalHeader()
        keys = []
        for visual in range(header.count()):
            logical = header.logicalIndex(visual)
            if 0 <= logical < len(COLUMNS) and not header.isSectionHidden(logical):
                keys.append(COLUMNS[logical].key)
        return keys

    def sort_state(self) -> tuple[str, bool]:
        """The sort column's key and whether it is descending."""
        return self.model.sort_key, self.model.descending

    def filter_description(self) -> str:
        """The filters in force, in words, for the line under an export's title."""
        parts = []
        if self.preset is not None:
            parts.append(self.preset_title or "指定条件")
        for label, box in (("状态", self.status_box), ("类型", self.type_box), ("村(社区)", self.village_box),
                           ("责任单位", self.unit_box), ("类别", self.category_box), ("来源", self.channel_box)):
            if box.currentIndex() > 0 and not box.isHidden():
                parts.append(f"{label}：{box.currentText()}")
        if self.date_check.isChecked():
            start, end = sorted((self.date_from.date().toPython(), self.date_to.date().toPython()))
            parts.append(f"受理日期：{start:%Y-%m-%d} 至 {end:%Y-%m-%d}")
        flags = [box.text() for box in self.flag_boxes.values() if box.isChecked()]
        if flags:
            parts.append("、".join(flags))
        if text := self.search.text().strip():
            parts.append(f"搜索“{text}”")
        return "筛选：" + "；".join(parts) if parts else "筛选：全部"

    def export_title(self) -> str:
        title = f"{self.place_name}诉求台账"
        return f"{title}（{self.preset_title}）" if self.preset is not None and self.preset_title else title

    def _export_filter(self) -> DemandFilter | None:
        f = self.current_filter()
        if f is None:
            tasks.show_message(self, "当前筛选条件互相矛盾，没有符合条件的诉求，无需导出。", "导出")
        return f

    def export_current_view(self, path: Path | None = None) -> tasks.Task | None:
        """Export exactly what the table shows: the filters, the sort order, the shown columns."""
        from app.views import export_actions  # openpyxl is loaded when first needed

        f = self._export_filter()
        if f is None:
            return None
        sort, descending = self.sort_state()
        task = export_actions.export_view(self, self.ctx, f, self.visible_column_keys(), sort=sort,
                                          descending=descending, title=self.export_title(),
                                          note=self.filter_description(), path=path)
        if task is not None:
            self.export_task = task
        return task

    def export_district_ledger(self, path: Path | None = None) -> tasks.Task | None:
        """The demands of the current filter in the district's 排查台账 layout."""
        from app.views import export_actions

        f = self._export_filter()
        if f is None:
            return None
        title = f"{self.place_name}群众诉求排查台账" if self.place_name else ""
        task = export_actions.export_district_ledger(self, self.ctx, f, title=title, path=path)
        if task is not None:
            self.export_task = task
        return task

    # -- column choices (QSettings) ------------------------------------------------------

    def _column_menu(self, pos: QPoint) -> None:
        header = self.table.horizontalHeader()
        menu = QMenu(self)
        for i, col in enumerate(COLUMNS):
            act = QAction(col.title, menu)
            act.setCheckable(True)
            act.setChecked(not header.isSectionHidden(i))
            act.toggled.connect(lambda on, i=i: self.set_column_visible(i, on))
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction("恢复默认列", self.reset_columns)
        menu.popup(header.mapToGlobal(pos))

    def set_column_visible(self, column: int, visible: bool) -> None:
        header = self.table.horizontalHeader()
        if not visible and header.count() - header.hiddenSectionCount() <= 1:
            return
        header.setSectionHidden(column, not visible)
        self._save_columns()

    def reset_columns(self) -> None:
        header = self.table.horizontalHeader()
        for i, col in enumerate(COLUMNS):
            header.setSectionHidden(i, False)
            header.moveSection(header.visualIndex(i), i)
            header.resizeSection(i, col.width)
        self._save_columns()

    def _save_columns(self, *_: Any) -> None:
        QSettings().setValue(f"{self.settings_key}/header", self.table.horizontalHeader().saveState())

    def _restore_columns(self) -> None:
        state = QSettings().value(f"{self.settings_key}/header")
        header = self.table.horizontalHeader()
        if state is not None:
            header.blockSignals(True)
            header.restoreState(state)
            header.blockSignals(False)
        section = header.sortIndicatorSection()
        if 0 <= section < len(COLUMNS):
            self.model.sort_key = COLUMNS[section].key
            self.model.descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

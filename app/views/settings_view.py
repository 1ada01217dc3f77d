"""设置: township, villages and grids, units, the category tree, channels, deadline rules,
the holiday calendar (with its coverage warning) and users and roles.

Every change goes through ``app.services.admin`` / ``settings`` / ``calendar``, which check
the role and write the audit trail. Users without the role see everything read-only:
lists and rules need 管理员 (``settings``), accounts need 管理员 (``users``), the holiday
table needs ``holidays`` (管理员 or 登记员, as the services allow).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.deadlines import Rule
from app.services import admin, calendar
from app.services.admin import RULE_KEYS, UNIT_LABELS, SettingsSnapshot
from app.views import tasks
from app.views.background import BackgroundReader, RefreshOnShow
from app.views.context import AppContext
from app.vocab import Level, Role

ID_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1
RED = "#c62828"


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _cell(text: str, data: Any = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if data is not None:
        item.setData(ID_ROLE, data)
    return item


def _selected_id(table: QTableWidget) -> Any:
    rows = table.selectionModel().selectedRows()
    if not rows:
        return None
    item = table.item(rows[0].row(), 0)
    return item.data(ID_ROLE) if item is not None else None


def _fill_rows(table: QTableWidget, rows: list[tuple[Any, list[str]]]) -> None:
    """Replace the table's rows, each (id, cells); the row selected before stays selected."""
    current = _selected_id(table)
    table.setRowCount(len(rows))
    for r, (row_id, cells) in enumerate(rows):
        for c, text in enumerate(cells):
            table.setItem(r, c, _cell(text, row_id if c == 0 else None))
        if row_id == current:
            table.selectRow(r)


def _fill_optional(box: QComboBox, items: list[tuple[Any, str]]) -> None:
    """A choice of (id, name) with “（无）” first."""
    box.clear()
    box.addItem("（无）", None)
    for item_id, name in items:
        box.addItem(name, item_id)


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #555;")
    return label


class Page(QWidget):
    """One tab: knows its screen (for writes) and which widgets need the edit permission."""

    operation = "settings"

    def __init__(self, screen: SettingsView) -> None:
        super().__init__()
        self.screen = screen
        self.edit_widgets: list[QWidget] = []

    def editable(self, *widgets: QWidget) -> None:
        self.edit_widgets.extend(widgets)

    def apply_permission(self, allowed: bool) -> None:
        for w in self.edit_widgets:
            w.setEnabled(allowed)

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        """Fill the tab from a fresh snapshot; every tab defines its own."""

    def write(self, fn: Callable[[Session], Any], done: str) -> None:
        self.screen.write(self.operation, fn, done)


# -- 乡镇 ------------------------------------------------------------------------------------


class TownshipPage(Page):
    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        outer = QHBoxLayout(self)
        box = QWidget()
        box.setMaximumWidth(640)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
        outer.addStretch(1)
        form = QFormLayout(box)
        self.name_edit = QLineEdit()
        self.code_label = QLabel("")
        self.center_edit = QLineEdit()
        self.center_edit.setPlaceholderText("如：示范镇群众诉求快处中心")
        self.repeat_spin = QSpinBox()
        self.repeat_spin.setRange(*admin.INT_SETTINGS["repeat_window_days"])
        self.repeat_spin.setSuffix(" 天")
        self.retention_box = QComboBox()
        self.retention_box.setEditable(True)
        self.retention_box.addItems(["永久", "30年", "10年"])
        self.save_button = QPushButton("保存")
        self.save_button.clicked.connect(self.save)
        form.addRow("乡镇(街道)名称：", self.name_edit)
        form.addRow("行政区划代码：", self.code_label)
        form.addRow("中心名称：", self.center_edit)
        form.addRow("重复诉求判定：", self.repeat_spin)
        form.addRow("", _hint("同一反映人在此天数内再次反映，即标为重复诉求并在受理时提醒"))
        form.addRow("案卷保管期限：", self.retention_box)
        form.addRow("", self.save_button)
        form.addRow("", _hint("区划代码是统一编码的一部分，建库后不能修改。"))
        self.editable(self.name_edit, self.center_edit, self.repeat_spin, self.retention_box, self.save_button)
        self.snap: SettingsSnapshot | None = None

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        self.snap = snap
        self.name_edit.setText(snap.township_name)
        self.code_label.setText(snap.township_code)
        self.center_edit.setText(str(snap.values.get("center_name") or ""))
        self.repeat_spin.setValue(int(snap.values["repeat_window_days"]))
        self.retention_box.setCurrentText(str(snap.values.get("retention_period") or "永久"))

    def save(self) -> None:
        snap = self.snap
        if snap is None:
            return
        name, center = self.name_edit.text(), self.center_edit.text()
        repeat, retention = self.repeat_spin.value(), self.retention_box.currentText()
        user = self.screen.ctx.user

        def fn(s: Session) -> None:
            if name.strip() != snap.township_name:
                admin.rename_township(s, user, name)
            if center.strip() != (snap.values.get("center_name") or ""):
                admin.put_setting(s, user, "center_name", center)
            if repeat != int(snap.values["repeat_window_days"]):
                admin.put_setting(s, user, "repeat_window_days", repeat)
            if retention.strip() != snap.values.get("retention_period"):
                admin.put_setting(s, user, "retention_period", retention)

        self.write(fn, "乡镇信息已保存")


# -- 村(社区)与网格 ------------------------------------------------------------------------


class VillagesPage(Page):
    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QHBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["村(社区) / 网格", "代码", "拼音首字母", "网格员", "电话", "诉求数"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.currentItemChanged.connect(lambda *_: self._chosen())
        layout.addWidget(self.tree, 3)
        box = QGroupBox("编辑")
        form = QFormLayout(box)
        self.kind_label = QLabel("")
        self.name_edit = QLineEdit()
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("12 位村级区划代码（可空）")
        self.worker_edit = QLineEdit()
        self.phone_edit = QLineEdit()
        form.addRow("", self.kind_label)
        form.addRow("名称：", self.name_edit)
        form.addRow("代码：", self.code_edit)
        form.addRow("网格员：", self.worker_edit)
        form.addRow("网格员电话：", self.phone_edit)
        self.save_button = QPushButton("保存修改")
        self.add_village_button = QPushButton("新增村(社区)")
        self.add_grid_button = QPushButton("在所选村(社区)下新增网格")
        self.delete_button = QPushButton("删除")
        for b in (self.save_button, self.add_village_button, self.add_grid_button, self.delete_button):
            form.addRow("", b)
        form.addRow("", _hint("新增时填写上方名称等再点“新增”。已有诉求的村(社区)、网格不能删除。"))
        layout.addWidget(box, 2)
        self.save_button.clicked.connect(self.save)
        self.add_village_button.clicked.connect(self.add_village)
        self.add_grid_button.clicked.connect(self.add_grid)
        self.delete_button.clicked.connect(self.delete)
        self.editable(self.name_edit, self.code_edit, self.worker_edit, self.phone_edit, self.save_button,
                      self.add_village_button, self.add_grid_button, self.delete_button)

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        current = self._current()
        self.tree.clear()
        for v in snap.villages:
            item = QTreeWidgetItem([v.name, v.code, v.initials, "", "", str(v.demands)])
            item.setData(0, ID_ROLE, v.id)
            item.setData(0, KIND_ROLE, "village")
            for g in v.grids:
                child = QTreeWidgetItem([g.name, "", "", g.worker_name, g.worker_phone, str(g.demands)])
                child.setData(0, ID_ROLE, g.id)
                child.setData(0, KIND_ROLE, "grid")
                item.addChild(child)
            self.tree.addTopLevelItem(item)
        self.tree.expandAll()
        for col in range(1, 6):
            self.tree.resizeColumnToContents(col)
        if current is not None:
            self._reselect(*current)

    def _current(self) -> tuple[str, int] | None:
        item = self.tree.currentItem()
        return (item.data(0, KIND_ROLE), item.data(0, ID_ROLE)) if item is not None else None

    def _reselect(self, kind: str, id_: int) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            for it in [item, *(item.child(j) for j in range(item.childCount()))]:
                if (it.data(0, KIND_ROLE), it.data(0, ID_ROLE)) == (kind, id_):
                    self.tree.setCurrentItem(it)
                    return

    def _chosen(self) -> None:
        item = self.tree.currentItem()
        if item is None:
            return
        grid = item.data(0, KIND_ROLE) == "grid"
        self.kind_label.setText("网格" if grid else "村(社区)")
        self.name_edit.setText(item.text(0))
        self.code_edit.setText("" if grid else item.text(1))
        self.worker_edit.setText(item.text(3) if grid else "")
        self.phone_edit.setText(item.text(4) if grid else "")

    def _village_id(self) -> int | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        return item.data(0, ID_ROLE) if item.parent() is None else item.parent().data(0, ID_ROLE)

    def save(self) -> None:
        current = self._current()
        if current is None:
            self.screen.fail("请先在左侧选择要修改的村(社区)或网格")
            return
        kind, id_ = current
        name, code, worker, phone = (self.name_edit.text(), self.code_edit.text(), self.worker_edit.text(),
                                     self.phone_edit.text())
        user = self.screen.ctx.user
        if kind == "grid":
            self.write(lambda s: admin.update_grid(s, user, id_, name, worker, phone), f"网格“{name}”已保存")
        else:
            self.write(lambda s: admin.update_village(s, user, id_, name, code), f"村(社区)“{name}”已保存")

    def add_village(self) -> None:
        name, code, user = self.name_edit.text(), self.code_edit.text(), self.screen.ctx.user
        self.write(lambda s: admin.add_village(s, user, name, code), f"已新增村(社区)“{name.strip()}”")

    def add_grid(self) -> None:
        village_id = self._village_id()
        if village_id is None:
            self.screen.fail("请先在左侧选择村(社区)")
            return
        name, worker, phone, user = (self.name_edit.text(), self.worker_edit.text(), self.phone_edit.text(),
                                     self.screen.ctx.user)
        self.write(lambda s: admin.add_grid(s, user, village_id, name, worker, phone), f"已新增网格“{name.strip()}”")

    def delete(self) -> None:
        current = self._current()
        if current is None:
            return
        kind, id_ = current
        user = self.screen.ctx.user
        if kind == "grid":
            self.write(lambda s: admin.delete_grid(s, user, id_), "网格已删除")
        else:
            self.write(lambda s: admin.delete_village(s, user, id_), "村(社区)已删除")


# -- 责任单位 ---------------------------------------------------------------------------------


class UnitsPage(Page):
    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QHBoxLayout(self)
        self.table = _table(["责任单位", "层级", "所属村(社区)", "在办诉求", "状态"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._chosen)
        layout.addWidget(self.table, 3)
        box = QGroupBox("编辑")
        form = QFormLayout(box)
        self.name_edit = QLineEdit()
        self.level_box = QComboBox()
        for lvl in Level:
            self.level_box.addItem(f"{lvl.label}级", lvl)
        self.village_box = QComboBox()
        self.active_check = QCheckBox("启用（停用的单位不再出现在交办、移交的选择中）")
        self.active_check.setChecked(True)
        form.addRow("名称：", self.name_edit)
        form.addRow("层级：", self.level_box)
        form.addRow("所属村(社区)：", self.village_box)
        form.addRow("", self.active_check)
        self.save_button = QPushButton("保存修改")
        self.add_button = QPushButton("新增单位")
        form.addRow("", self.save_button)
        form.addRow("", self.add_button)
        layout.addWidget(box, 2)
        self.save_button.clicked.connect(self.save)
        self.add_button.clicked.connect(self.add)
        self.editable(self.name_edit, self.level_box, self.village_box, self.active_check, self.save_button,
                      self.add_button)
        self.snap: SettingsSnapshot | None = None

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        self.snap = snap
        _fill_optional(self.village_box, [(v.id, v.name) for v in snap.villages])
        _fill_rows(self.table, [(u.id, [u.name, f"{u.level.label}级", u.village, str(u.open),
                                        "启用" if u.active else "停用"]) for u in snap.units])
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _chosen(self) -> None:
        uid = _selected_id(self.table)
        unit = next((u for u in self.snap.units if u.id == uid), None) if self.snap else None
        if unit is None:
            return
        self.name_edit.setText(unit.name)
        self.level_box.setCurrentIndex(self.level_box.findData(unit.level))
        self.village_box.setCurrentIndex(max(self.village_box.findData(unit.village_id), 0))
        self.active_check.setChecked(unit.active)

    def save(self) -> None:
        uid = _selected_id(self.table)
        if uid is None:
            self.screen.fail("请先在左侧选择要修改的单位")
            return
        name, level, vid, active = (self.name_edit.text(), self.level_box.currentData(),
                                    self.village_box.currentData(), self.active_check.isChecked())
        user = self.screen.ctx.user
        self.write(lambda s: admin.update_unit(s, user, uid, name, level, active, vid), f"单位“{name.strip()}”已保存")

    def add(self) -> None:
        name, level, vid, user = (self.name_edit.text(), self.level_box.currentData(), self.village_box.currentData(),
                                  self.screen.ctx.user)
        self.write(lambda s: admin.add_unit(s, user, name, level, vid), f"已新增单位“{name.strip()}”")


# -- 诉求类别 ---------------------------------------------------------------------------------


class CategoriesPage(Page):
    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QHBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["诉求类别（一级 › 二级 › 三级）", "诉求数"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.currentItemChanged.connect(
            lambda item, _prev: self.name_edit.setText(item.text(0)) if item is not None else None)
        layout.addWidget(self.tree, 3)
        box = QGroupBox("编辑")
        form = QFormLayout(box)
        self.name_edit = QLineEdit()
        form.addRow("名称：", self.name_edit)
        self.rename_button = QPushButton("改名")
        self.add_top_button = QPushButton("新增一级类别")
        self.add_child_button = QPushButton("在所选类别下新增下级")
        self.delete_button = QPushButton("删除所选（含下级）")
        for b in (self.rename_button, self.add_top_button, self.add_child_button, self.delete_button):
            form.addRow("", b)
        form.addRow("", _hint("类别最多三级。已有诉求使用的类别不能删除，只能改名。"))
        layout.addWidget(box, 2)
        self.rename_button.clicked.connect(self.rename)
        self.add_top_button.clicked.connect(lambda: self.add(None))
        self.add_child_button.clicked.connect(lambda: self.add(self._current()))
        self.delete_button.clicked.connect(self.delete)
        self.editable(self.name_edit, self.rename_button, self.add_top_button, self.add_child_button,
                      self.delete_button)

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        current = self._current()
        self.tree.clear()
        items: dict[int, QTreeWidgetItem] = {}
        for c in snap.categories:  # ordered by depth: parents come first
            item = QTreeWidgetItem([c.name, str(c.demands) if c.demands else ""])
            item.setData(0, ID_ROLE, c.id)
            items[c.id] = item
            parent = items.get(c.parent_id) if c.parent_id is not None else None
            if parent is None:
                self.tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
        self.tree.resizeColumnToContents(1)
        if current in items:
            self.tree.setCurrentItem(items[current])

    def _current(self) -> int | None:
        item = self.tree.currentItem()
        return item.data(0, ID_ROLE) if item is not None else None

    def rename(self) -> None:
        cid = self._current()
        if cid is None:
            self.screen.fail("请先选择类别")
            return
        name, user = self.name_edit.text(), self.screen.ctx.user
        self.write(lambda s: admin.rename_category(s, user, cid, name), f"类别已改名为“{name.strip()}”")

    def add(self, parent_id: int | None) -> None:
        name, user = self.name_edit.text(), self.screen.ctx.user
        self.write(lambda s: admin.add_category(s, user, parent_id, name), f"已新增类别“{name.strip()}”")

    def delete(self) -> None:
        cid = self._current()
        if cid is None:
            return
        user = self.screen.ctx.user
        self.write(lambda s: admin.delete_category(s, user, cid), "类别已删除")


# -- 诉求来源 ---------------------------------------------------------------------------------


class ChannelsPage(Page):
    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QHBoxLayout(self)
        self.table = _table(["诉求来源", "状态", "诉求数"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._chosen)
        layout.addWidget(self.table, 3)
        box = QGroupBox("编辑")
        form = QFormLayout(box)
        self.name_edit = QLineEdit()
        self.active_check = QCheckBox("启用（停用的来源不再出现在受理登记中）")
        self.active_check.setChecked(True)
        form.addRow("名称：", self.name_edit)
        form.addRow("", self.active_check)
        self.save_button = QPushButton("保存修改")
        self.add_button = QPushButton("新增来源")
        form.addRow("", self.save_button)
        form.addRow("", self.add_button)
        form.addRow("", _hint("来源为“12345热线”“信访”的诉求按各自的时限规则计时。"))
        layout.addWidget(box, 2)
        self.save_button.clicked.connect(self.save)
        self.add_button.clicked.connect(self.add)
        self.editable(self.name_edit, self.active_check, self.save_button, self.add_button)

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        _fill_rows(self.table, [(c.id, [c.name, "启用" if c.active else "停用", str(c.demands)])
                                for c in snap.channels])

    def _chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            r = rows[0].row()
            self.name_edit.setText(self.table.item(r, 0).text())
            self.active_check.setChecked(self.table.item(r, 1).text() == "启用")

    def save(self) -> None:
        cid = _selected_id(self.table)
        if cid is None:
            self.screen.fail("请先选择来源")
            return
        name, active, user = self.name_edit.text(), self.active_check.isChecked(), self.screen.ctx.user
        self.write(lambda s: admin.update_channel(s, user, cid, name, active), f"来源“{name.strip()}”已保存")

    def add(self) -> None:
        name, user = self.name_edit.text(), self.screen.ctx.user
        self.write(lambda s: admin.add_channel(s, user, name), f"已新增来源“{name.strip()}”")


# -- 时限规则 ---------------------------------------------------------------------------------


class RulesPage(Page):
    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QVBoxLayout(self)
        layout.addWidget(_hint(
            "受理当日不计；工作日按国家法定节假日和调休计算。来源为 12345 热线、信访的诉求分别按其规则计时。"
            "修改只影响此后受理、复办或延期的诉求，已确定的期限不变。"))
        soon = QHBoxLayout()
        soon.addWidget(QLabel("临期预警：剩余"))
        self.due_soon_spin = QSpinBox()
        self.due_soon_spin.setRange(*admin.INT_SETTINGS["due_soon_days"])
        soon.addWidget(self.due_soon_spin)
        soon.addWidget(QLabel("个工作日及以内显示为黄色“即将到期”"))
        soon.addStretch(1)
        layout.addLayout(soon)
        self.table = _table(["规则组", "项目", "天数", "计算方式", "当前规则"])
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.save_button = QPushButton("保存时限规则")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.editable(self.due_soon_spin, self.save_button)
        self.cells: dict[tuple[str, str], tuple[QSpinBox, QComboBox]] = {}
        self.snap: SettingsSnapshot | None = None

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        self.snap = snap
        self.due_soon_spin.setValue(int(snap.values["due_soon_days"]))
        rows = [(rs, key, label) for rs in snap.rules for key, label in RULE_KEYS if key in snap.rules[rs]]
        self.table.setRowCount(len(rows))
        self.cells.clear()
        allowed = self.screen.ctx.can("settings")
        for r, (rs, key, label) in enumerate(rows):
            spec = snap.rules[rs][key]
            title = snap.rules[rs].get("title") or rs
            self.table.setItem(r, 0, _cell(title))
            self.table.setItem(r, 1, _cell(label))
            spin = QSpinBox()
            spin.setRange(0, 365)
            spin.setValue(int(spec["days"]))
            unit = QComboBox()
            for code, text in UNIT_LABELS.items():
                unit.addItem(text, code)
            unit.setCurrentIndex(max(unit.findData(spec.get("unit", "workday")), 0))
            for w in (spin, unit):
                w.setEnabled(allowed)
            self.table.setCellWidget(r, 2, spin)
            self.table.setCellWidget(r, 3, unit)
            self.table.setItem(r, 4, _cell(Rule(int(spec["days"]), spec.get("unit", "workday")).label))
            self.cells[(rs, key)] = (spin, unit)
        self.table.resizeColumnsToContents()

    def apply_permission(self, allowed: bool) -> None:
        super().apply_permission(allowed)
        for spin, unit in self.cells.values():
            spin.setEnabled(allowed)
            unit.setEnabled(allowed)

    def changes(self) -> list[tuple[str, str, int, str]]:
        if self.snap is None:
            return []
        out = []
        for (rs, key), (spin, unit) in self.cells.items():
            spec = self.snap.rules[rs][key]
            if spin.value() != int(spec["days"]) or unit.currentData() != spec.get("unit", "workday"):
                out.append((rs, key, spin.value(), unit.currentData()))
        return out

    def save(self) -> None:
        if self.snap is None:
            return
        changes, due_soon, user = self.changes(), self.due_soon_spin.value(), self.screen.ctx.user
        old_soon = int(self.snap.values["due_soon_days"])

        def fn(s: Session) -> None:
            for rs, key, days, unit in changes:
                admin.set_rule(s, user, rs, key, days, unit)
            if due_soon != old_soon:
                admin.put_setting(s, user, "due_soon_days", due_soon)

        self.write(fn, f"时限规则已保存（修改 {len(changes) + (due_soon != old_soon)} 项）")


# -- 节假日 -----------------------------------------------------------------------------------


class HolidaysPage(Page):
    operation = "holidays"

    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QVBoxLayout(self)
        self.coverage_label = QLabel("")
        self.coverage_label.setWordWrap(True)
        layout.addWidget(self.coverage_label)
        top = QHBoxLayout()
        top.addWidget(QLabel("年份："))
        self.year_box = QComboBox()
        self.year_box.currentIndexChanged.connect(lambda _i: self._fill())
        top.addWidget(self.year_box)
        top.addStretch(1)
        self.import_button = QPushButton("导入 CSV…")
        self.import_button.setToolTip("每行：日期,休/班,名称；如 2027-01-01,休,元旦（UTF-8 或 GBK）")
        self.import_button.clicked.connect(self.choose_csv)
        top.addWidget(self.import_button)
        layout.addLayout(top)
        body = QHBoxLayout()
        self.table = _table(["日期", "星期", "类别", "名称", "来源"])
        body.addWidget(self.table, 3)
        box = QGroupBox("录入一天")
        form = QFormLayout(box)
        self.day_edit = QDateEdit()
        self.day_edit.setDisplayFormat("yyyy-MM-dd")
        self.day_edit.setCalendarPopup(True)
        self.day_edit.setDate(QDate.currentDate())
        self.kind_box = QComboBox()
        self.kind_box.addItem("休（放假）", False)
        self.kind_box.addItem("班（调休上班）", True)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("如：春节")
        self.set_button = QPushButton("添加 / 修改")
        self.delete_button = QPushButton("删除所选日期")
        form.addRow("日期：", self.day_edit)
        form.addRow("类别：", self.kind_box)
        form.addRow("名称：", self.name_edit)
        form.addRow("", self.set_button)
        form.addRow("", self.delete_button)
        form.addRow("", _hint("节假日表覆盖内置数据；内置数据没有的年份，请在国务院公布安排后逐日录入或导入。"))
        body.addWidget(box, 2)
        layout.addLayout(body, 1)
        self.set_button.clicked.connect(self.set_day)
        self.delete_button.clicked.connect(self.delete_day)
        self.table.itemSelectionChanged.connect(self._chosen)
        self.editable(self.import_button, self.day_edit, self.kind_box, self.name_edit, self.set_button,
                      self.delete_button)
        self.snap: SettingsSnapshot | None = None

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        self.snap = snap
        cov = snap.coverage
        warning = cov.warning()
        builtin = f"内置节假日数据覆盖 {cov.builtin.start}–{cov.builtin.stop - 1} 年"
        table_years = "、".join(map(str, cov.table_years)) or "无"
        if warning:
            self.coverage_label.setText(f"⚠ {warning}\n{builtin}；节假日表已录入：{table_years}")
            self.coverage_label.setStyleSheet(
                f"background:#fdecea; color:{RED}; border:1px solid #e57373; padding:8px; font-weight:bold;")
        else:
            self.coverage_label.setText(f"今年和明年的节假日均已覆盖。{builtin}；节假日表已录入：{table_years}")
            self.coverage_label.setStyleSheet("background:#e8f5e9; color:#1b5e20; padding:8px;")
        years = sorted({h.day.year for h in snap.holidays} | {date.today().year, date.today().year + 1})
        current = self.year_box.currentData()
        self.year_box.blockSignals(True)
        self.year_box.clear()
        for y in years:
            self.year_box.addItem(f"{y} 年", y)
        self.year_box.setCurrentIndex(max(self.year_box.findData(current or date.today().year), 0))
        self.year_box.blockSignals(False)
        self._fill()

    def _fill(self) -> None:
        if self.snap is None:
            return
        year = self.year_box.currentData()
        entered = {h.day: h for h in self.snap.holidays if h.day.year == year}
        shown = {h.day: h for h in admin.builtin_days(year) if year is not None} | entered
        rows = [shown[d] for d in sorted(shown)]
        self.table.setRowCount(len(rows))
        grey = QColor("#777777")
        for r, h in enumerate(rows):
            cells = [h.day.isoformat(), "周" + "一二三四五六日"[h.day.weekday()], "班" if h.is_workday else "休", h.name,
                     "内置数据" if h.builtin else "节假日表"]
            for c, text in enumerate(cells):
                item = _cell(text, h.day if c == 0 and not h.builtin else None)
                if h.builtin:
                    item.setForeground(grey)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def _chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.snap is None:
            return
        day = date.fromisoformat(self.table.item(rows[0].row(), 0).text())
        entered = {h.day: h for h in self.snap.holidays}
        h = entered.get(day) or next((b for b in admin.builtin_days(day.year) if b.day == day), None)
        if h is not None:
            self.day_edit.setDate(QDate(h.day.year, h.day.month, h.day.day))
            self.kind_box.setCurrentIndex(1 if h.is_workday else 0)
            self.name_edit.setText(h.name)

    def set_day(self) -> None:
        day, work, name, user = (self.day_edit.date().toPython(), self.kind_box.currentData(),
                                 self.name_edit.text().strip(), self.screen.ctx.user)
        self.write(lambda s: calendar.set_day(s, user, day, work, name),
                   f"已录入 {day}（{'班' if work else '休'}）")

    def delete_day(self) -> None:
        day = _selected_id(self.table)
        if day is None:
            self.screen.fail("请先在列表中选择节假日表中的日期（内置数据不能删除，可录入同一天覆盖）")
            return
        user = self.screen.ctx.user
        self.write(lambda s: calendar.delete_day(s, user, day), f"已删除 {day}")

    def choose_csv(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "导入节假日", "", "CSV 文件 (*.csv *.txt);;所有文件 (*)")
        if name:
            self.import_csv(Path(name))

    def import_csv(self, path: Path) -> None:
        user = self.screen.ctx.user
        self.write(lambda s: calendar.import_holidays(s, user, path), f"已从 {path.name} 导入节假日")


# -- 用户与角色 -------------------------------------------------------------------------------


class UsersPage(Page):
    operation = "users"

    def __init__(self, screen: SettingsView) -> None:
        super().__init__(screen)
        layout = QHBoxLayout(self)
        self.table = _table(["用户名", "姓名", "角色", "所属单位", "状态"])
        self.table.itemSelectionChanged.connect(self._chosen)
        layout.addWidget(self.table, 3)
        box = QGroupBox("编辑")
        form = QFormLayout(box)
        self.username_edit = QLineEdit()
        self.username_edit.setPlaceholderText("新增时填写，之后不能修改")
        self.name_edit = QLineEdit()
        roles = QWidget()
        rl = QVBoxLayout(roles)
        rl.setContentsMargins(0, 0, 0, 0)
        self.role_checks: dict[Role, QCheckBox] = {}
        for role in Role:
            check = QCheckBox(role.label)
            self.role_checks[role] = check
            rl.addWidget(check)
        self.unit_box = QComboBox()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("新增或重置密码时填写（至少 4 位）")
        form.addRow("用户名：", self.username_edit)
        form.addRow("姓名：", self.name_edit)
        form.addRow("角色：", roles)
        form.addRow("所属单位：", self.unit_box)
        form.addRow("密码：", self.password_edit)
        self.save_button = QPushButton("保存修改（姓名、角色、单位）")
        self.add_button = QPushButton("新增用户")
        self.password_button = QPushButton("重置密码")
        self.active_button = QPushButton("停用")
        for b in (self.save_button, self.add_button, self.password_button, self.active_button):
            form.addRow("", b)
        layout.addWidget(box, 2)
        self.save_button.clicked.connect(self.save)
        self.add_button.clicked.connect(self.add)
        self.password_button.clicked.connect(self.reset_password)
        self.active_button.clicked.connect(self.toggle_active)
        self.editable(self.username_edit, self.name_edit, *self.role_checks.values(), self.unit_box,
                      self.password_edit, self.save_button, self.add_button, self.password_button,
                      self.active_button)
        self.snap: SettingsSnapshot | None = None

    def show_snapshot(self, snap: SettingsSnapshot) -> None:
        self.snap = snap
        _fill_optional(self.unit_box, [(u.id, u.name) for u in snap.units])
        _fill_rows(self.table, [(u.id, [u.username, u.name, "、".join(role.label for role in u.roles), u.unit,
                                        "启用" if u.active else "停用"]) for u in snap.users])
        self.table.resizeColumnsToContents()

    def _user(self) -> admin.UserRow | None:
        uid = _selected_id(self.table)
        return next((u for u in self.snap.users if u.id == uid), None) if self.snap else None

    def _chosen(self) -> None:
        u = self._user()
        if u is None:
            return
        self.username_edit.setText(u.username)
        self.name_edit.setText(u.name)
        for role, check in self.role_checks.items():
            check.setChecked(role in u.roles)
        self.unit_box.setCurrentIndex(max(self.unit_box.findData(u.unit_id), 0))
        self.active_button.setText("停用" if u.active else "启用")
        self.password_edit.clear()

    def roles(self) -> list[Role]:
        return [role for role, check in self.role_checks.items() if check.isChecked()]

    def save(self) -> None:
        u = self._user()
        if u is None:
            self.screen.fail("请先选择用户")
            return
        name, roles, unit_id, actor = self.name_edit.text(), self.roles(), self.unit_box.currentData(), \
            self.screen.ctx.user
        self.write(lambda s: admin.update_user(s, actor, u.id, name, roles, unit_id), f"用户 {u.username} 已保存")

    def add(self) -> None:
        username, name, roles, unit_id, password, actor = (
            self.username_edit.text(), self.name_edit.text(), self.roles(), self.unit_box.currentData(),
            self.password_edit.text(), self.screen.ctx.user)
        self.write(lambda s: admin.add_user(s, actor, username, name, roles, password, unit_id),
                   f"已新增用户 {username.strip()}")
        self.password_edit.clear()

    def reset_password(self) -> None:
        u = self._user()
        if u is None:
            self.screen.fail("请先选择用户")
            return
        password, actor = self.password_edit.text(), self.screen.ctx.user
        self.write(lambda s: admin.reset_password(s, actor, u.id, password), f"已重置用户 {u.username} 的密码")
        self.password_edit.clear()

    def toggle_active(self) -> None:
        u = self._user()
        if u is None:
            self.screen.fail("请先选择用户")
            return
        actor = self.screen.ctx.user
        self.write(lambda s: admin.set_active(s, actor, u.id, not u.active),
                   f"已{'停用' if u.active else '启用'}用户 {u.username}")


# -- the screen ----------------------------------------------------------------------------------


class SettingsView(RefreshOnShow, QWidget):
    """The 设置 screen: one tab per list; read-only for users without the role."""

    loaded = Signal()
    saved = Signal(str)  # the success message, after a change was committed
    save_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.snap: SettingsSnapshot | None = None
        self._stale = True
        self.reader = BackgroundReader(ctx.db, self)
        self.reader.finished.connect(self._show)
        self.reader.failed.connect(self.fail)

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel("设置")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        head.addWidget(title)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        head.addWidget(self.message, 1)
        outer.addLayout(head)
        self.coverage_banner = QLabel("")
        self.coverage_banner.setWordWrap(True)
        self.coverage_banner.setStyleSheet(
            f"background:#fdecea; color:{RED}; border:1px solid #e57373; padding:8px; font-weight:bold;")
        self.coverage_banner.hide()
        outer.addWidget(self.coverage_banner)
        self.readonly_banner = QLabel("")
        self.readonly_banner.setStyleSheet("background:#fff8e1; color:#6d4c00; padding:6px;")
        self.readonly_banner.hide()
        outer.addWidget(self.readonly_banner)

        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        self.township = TownshipPage(self)
        self.villages = VillagesPage(self)
        self.units = UnitsPage(self)
        self.categories = CategoriesPage(self)
        self.channels = ChannelsPage(self)
        self.rules = RulesPage(self)
        self.holidays = HolidaysPage(self)
        self.users = UsersPage(self)
        self.pages: list[Page] = [self.township, self.villages, self.units, self.categories, self.channels,
                                  self.rules, self.holidays, self.users]
        for page, label in zip(self.pages, ("乡镇", "村(社区)与网格", "责任单位", "诉求类别", "诉求来源", "时限规则",
                                            "节假日", "用户与角色"), strict=True):
            self.tabs.addTab(page, label)
        self._apply_permissions()

    def _apply_permissions(self) -> None:
        for page in self.pages:
            page.apply_permission(self.ctx.can(page.operation))
        missing = [title for op, title in (("settings", "各项设置（需“管理员”角色）"),
                                           ("users", "用户与角色（需“管理员”角色）"),
                                           ("holidays", "节假日（需“管理员”或“登记员”角色）"))
                   if not self.ctx.can(op)]
        if missing:
            self.readonly_banner.setText(f"只读：用户“{self.ctx.user.name}”不能修改{'、'.join(missing)}。")
            self.readonly_banner.show()

    def is_read_only(self, page: Page) -> bool:
        return not any(w.isEnabled() for w in page.edit_widgets)

    # -- loading ------------------------------------------------------------------------

    def refresh(self) -> None:
        self._stale = False
        self.reader.start(admin.snapshot)

    def _show(self, snap: SettingsSnapshot) -> None:
        self.snap = snap
        for page in self.pages:
            page.show_snapshot(snap)
        warning = snap.coverage.warning()
        self.coverage_banner.setText(f"⚠ {warning}")
        self.coverage_banner.setVisible(bool(warning))
        self._apply_permissions()
        self.loaded.emit()

    # -- writing -------------------------------------------------------------------------

    def fail(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {RED};")
        self.save_failed.emit(text)

    def write(self, operation: str, fn: Callable[[Session], Any], done: str) -> None:
        """One change in one transaction on the write worker; the screen reloads after it."""
        if not self.ctx.can(operation):
            self.fail(f"用户“{self.ctx.user.name}”无权修改此项设置")
            return
        db = self.ctx.db

        def work(_control: tasks.TaskControl) -> None:
            with db.write() as s:
                fn(s)

        def ok(_result: object) -> None:
            self.message.setText(done)
            self.message.setStyleSheet("color: #1b5e20;")
            self.refresh()
            self.ctx.nav.data_changed.emit()
            self.saved.emit(done)

        def failed(exc: BaseException) -> None:
            self.fail(f"未保存：{exc}")

        tasks.run(work, title="正在保存设置", parent=self, on_done=ok, on_error=failed, write=True)

"""受理登记: the keyboard-first intake form.

Tab order follows the paper ledger's columns (反映人, 住址, 联系方式, 诉求类型, 诉求类别
一级/二级/三级, 诉求来源, 诉求内容), then 受理日期, 村(社区), 网格, 备注. Ctrl+S saves,
Ctrl+Shift+S saves and starts the next one, Ctrl+N starts a new one. Saving goes through
``demands.register``; its ValidationError is shown under the field it names.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from PySide6.QtCore import QDate, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import DomainError, ValidationError
from app.personal import phone_problem
from app.services import demands, intake
from app.services.intake import IntakeChoices, PetitionerHistory, PetitionerHit
from app.views.choosers import SearchCombo
from app.views.context import AppContext
from app.vocab import DemandType

RED = "#c62828"
PID_ROLE = Qt.ItemDataRole.UserRole


class PetitionerCompleter(QCompleter):
    """Suggests known petitioners as the name or phone is typed; fills the field's own value."""

    def __init__(self, field: str, parent: QWidget | None = None) -> None:
        self.items = QStandardItemModel()
        super().__init__(self.items, parent)
        self.items.setParent(self)
        self.field = field
        self.hits: dict[int, PetitionerHit] = {}
        self.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.setMaxVisibleItems(10)

    def set_hits(self, hits: list[PetitionerHit]) -> None:
        self.items.clear()
        self.hits = {h.id: h for h in hits}
        for h in hits:
            item = QStandardItem(h.label())
            item.setData(h.id, PID_ROLE)
            self.items.appendRow(item)

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        hit = self.hits.get(index.data(PID_ROLE))
        if hit is None:
            return ""
        return hit.phone if self.field == "phone" else hit.name


class DateField(QDateEdit):
    """A date box that Tab leaves (QDateEdit would walk year → month → day first)."""

    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


class IntakeView(QWidget):
    """The 受理登记 screen."""

    saved = Signal(int, str)  # demand id, case number

    FIELD_LABELS = ("反映人", "住址", "联系方式", "诉求类型", "诉求类别", "诉求来源", "诉求内容",
                    "受理日期", "村(社区)", "网格", "备注")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.choices: IntakeChoices | None = None
        self.saved_demand: tuple[int, str] | None = None
        self.history: PetitionerHistory | None = None
        self._loaded = False
        self.errors: dict[str, QLabel] = {}
        ctx.nav.data_changed.connect(self._on_data_changed)

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel("受理登记")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        head.addWidget(title)
        keys = QLabel("Tab 下一项 · Ctrl+S 保存 · Ctrl+Shift+S 保存并登记下一件 · Ctrl+N 新登记")
        keys.setStyleSheet("color: #666;")
        head.addWidget(keys, 1)
        outer.addLayout(head)

        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.linkActivated.connect(self._open_link)
        self.banner.hide()
        outer.addWidget(self.banner)

        body = QHBoxLayout()
        outer.addLayout(body, 1)
        form_box = QFrame()
        form_box.setFrameShape(QFrame.Shape.StyledPanel)
        form_column = QVBoxLayout(form_box)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form_column.addLayout(self.form)
        form_column.addStretch(1)
        body.addWidget(form_box, 3)

        # -- fields, in the paper ledger's order --
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("姓名；输入姓氏或电话可查找已登记的反映人")
        self.name_completer = PetitionerCompleter("name", self)
        self.name_edit.setCompleter(self.name_completer)
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("住址")
        self.phone_edit = QLineEdit()
        self.phone_edit.setPlaceholderText("11 位手机号或带区号的固定电话")
        self.phone_completer = PetitionerCompleter("phone", self)
        self.phone_edit.setCompleter(self.phone_completer)
        self.type_combo = SearchCombo("咨询 / 建议 / 求决 / 投诉")
        self.cat_combos = [SearchCombo("一级类别"), SearchCombo("二级类别"), SearchCombo("三级类别")]
        self.channel_combo = SearchCombo("诉求来源")
        self.content_edit = QPlainTextEdit()
        self.content_edit.setTabChangesFocus(True)
        self.content_edit.setPlaceholderText("诉求内容（必填）")
        self.content_edit.setMinimumHeight(90)
        self.content_edit.setMaximumHeight(200)
        self.date_edit = DateField()
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setCalendarPopup(True)
        self.village_combo = SearchCombo("村(社区)：输入名称或拼音首字母，如 ls")
        self.grid_combo = SearchCombo("网格")
        self.remarks_edit = QLineEdit()
        self.remarks_edit.setPlaceholderText("备注")

        cats = QHBoxLayout()
        for combo in self.cat_combos:
            cats.addWidget(combo, 1)
        cat_row = QWidget()
        cat_row.setLayout(cats)
        cats.setContentsMargins(0, 0, 0, 0)
        widgets: dict[str, QWidget] = {
            "反映人": self.name_edit, "住址": self.address_edit, "联系方式": self.phone_edit,
            "诉求类型": self.type_combo, "诉求类别": cat_row, "诉求来源": self.channel_combo,
            "诉求内容": self.content_edit, "受理日期": self.date_edit, "村(社区)": self.village_combo,
            "网格": self.grid_combo, "备注": self.remarks_edit,
        }
        required = {"诉求类型", "诉求内容", "受理日期"}
        for label in self.FIELD_LABELS:
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(1)
            box.addWidget(widgets[label])
            error = QLabel("")
            error.setStyleSheet(f"color: {RED};")
            error.setWordWrap(True)
            error.hide()
            box.addWidget(error)
            self.errors[label] = error
            self.form.addRow(f"{label}{' *' if label in required else ''}：", cell)
        self.field_widgets = widgets

        buttons = QHBoxLayout()
        self.save_button = QPushButton("保存 (Ctrl+S)")
        self.save_next_button = QPushButton("保存并登记下一件 (Ctrl+Shift+S)")
        self.new_button = QPushButton("新登记 (Ctrl+N)")
        self.save_button.clicked.connect(lambda: self.save(False))
        self.save_next_button.clicked.connect(lambda: self.save(True))
        self.new_button.clicked.connect(self.new_form)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.save_next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        self.form.addRow("", self._wrap(buttons))
        self.permission_note = QLabel("")
        self.permission_note.setStyleSheet(f"color: {RED};")
        self.permission_note.hide()
        self.form.addRow("", self.permission_note)

        # -- side panel: deadline preview and the petitioner's earlier demands --
        side = QVBoxLayout()
        body.addLayout(side, 2)
        deadline_box = QGroupBox("办理期限预览")
        dl = QVBoxLayout(deadline_box)
        self.deadline_label = QLabel("选择诉求类型后显示")
        self.deadline_label.setWordWrap(True)
        self.deadline_label.setStyleSheet("font-size: 14px;")
        dl.addWidget(self.deadline_label)
        side.addWidget(deadline_box)
        people_box = QGroupBox("反映人以往诉求")
        pl = QVBoxLayout(people_box)
        self.repeat_label = QLabel("")
        self.repeat_label.setWordWrap(True)
        self.repeat_label.hide()
        pl.addWidget(self.repeat_label)
        self.history_table = QTableWidget(0, 4)
        self.history_table.setHorizontalHeaderLabels(["编码", "受理日期", "状态", "内容"])
        self.history_table.verticalHeader().hide()
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.history_table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.history_table.doubleClicked.connect(self._open_history_row)
        self.history_table.setToolTip("双击打开该诉求")
        pl.addWidget(self.history_table)
        self.history_hint = QLabel("输入电话或选择已登记的反映人后显示")
        self.history_hint.setStyleSheet("color: #666;")
        pl.addWidget(self.history_hint)
        side.addWidget(people_box, 1)

        # -- behaviour --
        self.name_edit.textEdited.connect(lambda t: self._suggest(self.name_completer, t))
        self.phone_edit.textEdited.connect(lambda t: self._suggest(self.phone_completer, t))
        self.name_completer.activated[QModelIndex].connect(self._petitioner_chosen)
        self.phone_completer.activated[QModelIndex].connect(self._petitioner_chosen)
        self.phone_edit.editingFinished.connect(self._phone_finished)
        self.address_edit.editingFinished.connect(self._address_finished)
        self.type_combo.chosen.connect(lambda _id: self._update_deadline())
        self.channel_combo.chosen.connect(lambda _id: self._update_deadline())
        self.date_edit.dateChanged.connect(self._date_changed)
        self.cat_combos[0].chosen.connect(lambda cid: self._fill_categories(1, cid))
        self.cat_combos[1].chosen.connect(lambda cid: self._fill_categories(2, cid))
        self.village_combo.chosen.connect(self._village_chosen)
        self.content_edit.textChanged.connect(lambda: self._clear_error("诉求内容"))

        order: list[QWidget] = [self.name_edit, self.address_edit, self.phone_edit, self.type_combo,
                                *self.cat_combos, self.channel_combo, self.content_edit, self.date_edit,
                                self.village_combo, self.grid_combo, self.remarks_edit, self.save_button,
                                self.save_next_button, self.new_button]
        for a, b in pairwise(order):
            QWidget.setTabOrder(a, b)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys_, slot in (("Ctrl+S", lambda: self.save(False)), ("Ctrl+Shift+S", lambda: self.save(True)),
                            ("Ctrl+N", self.new_form)):
            shortcut = QShortcut(QKeySequence(keys_), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)

        self._apply_permission()
        self.new_form()

    @staticmethod
    def _wrap(layout: QHBoxLayout) -> QWidget:
        w = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        w.setLayout(layout)
        return w

    # -- loading -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the lists (villages, grids, categories, channels) and the rules."""
        with self.ctx.db.read() as s:
            self.choices = intake.load_choices(s)
        c = self.choices
        self.type_combo.set_choices(c.types)
        self.cat_combos[0].set_choices(c.categories.get(None, []))
        self.channel_combo.set_choices(c.channels)
        self.village_combo.set_choices(c.villages)
        self._village_chosen(self.village_combo.current_id())
        self._loaded = True
        self._update_deadline()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._loaded:
            self.refresh()
        if self.saved_demand is None and not self.name_edit.text():
            self.name_edit.setFocus()

    def _on_data_changed(self) -> None:
        self._loaded = False
        if self.isVisible():
            self.refresh()

    def _apply_permission(self) -> None:
        allowed = self.ctx.can("register")
        for b in (self.save_button, self.save_next_button):
            b.setEnabled(allowed)
        if not allowed:
            self.permission_note.setText(f"用户“{self.ctx.user.name}”没有受理登记权限（需要“登记员”角色），只能查看。")
            self.permission_note.show()

    # -- the form ---------------------------------------------------------------------

    def new_form(self, keep_batch: bool = False) -> None:
        """Empty the form for the next demand; ``keep_batch`` keeps the date and channel."""
        if self.choices is None:
            self.refresh()
        keep_date = self.date_edit.date() if keep_batch else QDate.currentDate()
        keep_channel = self.channel_combo.current_id() if keep_batch else None
        self.saved_demand = None
        self._set_editable(True)
        for edit in (self.name_edit, self.address_edit, self.phone_edit, self.remarks_edit):
            edit.clear()
        self.content_edit.clear()
        self.type_combo.set_current_id(None)
        self.cat_combos[0].set_current_id(None)
        self.village_combo.set_current_id(None)
        self.channel_combo.set_current_id(keep_channel)
        self.date_edit.setDate(keep_date)
        self._fill_categories(1, None)
        self._village_chosen(None)
        self._show_history(None)
        for label in self.errors:
            self._clear_error(label)
        self._update_deadline()
        self.name_edit.setFocus()

    def _set_editable(self, editable: bool) -> None:
        for w in self.field_widgets.values():
            w.setEnabled(editable)
        allowed = self.ctx.can("register")
        self.save_button.setEnabled(editable and allowed)
        self.save_next_button.setEnabled(allowed)

    def _fill_categories(self, level: int, parent_id: int | None) -> None:
        if self.choices is None:
            return
        items = self.choices.categories.get(parent_id, []) if parent_id is not None else []
        combo = self.cat_combos[level]
        combo.set_choices(items, keep=True)
        combo.setEnabled(bool(items) and self.saved_demand is None)
        if level == 1:
            self._fill_categories(2, self.cat_combos[1].current_id())

    def _village_chosen(self, village_id: int | None) -> None:
        self._clear_error("村(社区)")
        if self.choices is None:
            return
        grids = self.choices.grids.get(village_id, []) if village_id is not None else []
        self.grid_combo.set_choices(grids, keep=True)
        self.grid_combo.setEnabled(bool(grids) and self.saved_demand is None)

    def category_id(self) -> int | None:
        for combo in reversed(self.cat_combos):
            cid = combo.current_id()
            if cid is not None:
                return cid
        return None

    def selected_type(self) -> DemandType | None:
        if self.choices is None or self.type_combo.current_id() is None:
            return None
        return list(DemandType)[self.type_combo.current_id()]

    def received_on(self) -> date:
        return self.date_edit.date().toPython()

    def _date_changed(self, _qdate: QDate) -> None:
        if self.received_on() > date.today():
            self._set_error("受理日期", f"{self.received_on()} 晚于今天，不能是将来的日期")
        else:
            self._clear_error("受理日期")
        self._update_deadline()
        if self.history is not None:
            self._load_history(self.history.petitioner.id)

    def _update_deadline(self) -> None:
        dtype = self.selected_type()
        if self.choices is None or dtype is None:
            self.deadline_label.setText("选择诉求类型后显示办理期限")
            return
        channel = self.channel_combo.currentText() if self.channel_combo.current_id() is not None else ""
        try:
            preview = intake.preview_deadline(self.choices, dtype, self.received_on(), channel)
        except (KeyError, ValueError) as exc:
            self.deadline_label.setText(f"无法计算期限：{exc}")
            return
        colour = "#b26a00" if preview.provisional else "#1b5e20"
        tag = "　<b>暂定</b>" if preview.provisional else ""
        self.deadline_label.setText(
            f"<span style='font-size:18px; color:{colour}'>{preview.due.isoformat()}</span>{tag}<br>"
            f"{dtype.label}：{preview.rule_label}（{preview.rule_set_label}），受理当日不计"
            + ("<br>节假日数据未覆盖该年份，按周一至周五暂定计算" if preview.provisional else ""))

    # -- petitioner --------------------------------------------------------------------

    def _suggest(self, completer: PetitionerCompleter, text: str) -> None:
        if completer is self.phone_completer:
            self._clear_error("联系方式")
        text = text.strip()
        if len(text) < (3 if completer is self.phone_completer else 1):
            completer.set_hits([])
            return
        with self.ctx.db.read() as s:
            hits = intake.search_petitioners(s, text)
        completer.set_hits(hits)
        if hits:
            completer.complete()

    def _petitioner_chosen(self, index: QModelIndex) -> None:
        pid = index.data(PID_ROLE)
        sender = self.sender()
        hits = sender.hits if isinstance(sender, PetitionerCompleter) else {}
        hit = hits.get(pid)
        if hit is None:
            return
        self.apply_petitioner(hit, overwrite=True)
        self.type_combo.setFocus()

    def apply_petitioner(self, hit: PetitionerHit, overwrite: bool = False) -> None:
        """Fill name, address and phone of a known petitioner and show his earlier demands."""
        if overwrite or not self.name_edit.text().strip():
            self.name_edit.setText(hit.name)
        if overwrite or not self.address_edit.text().strip():
            self.address_edit.setText(hit.address)
        if overwrite or not self.phone_edit.text().strip():
            self.phone_edit.setText(hit.phone)
        if hit.village_id is not None and self.village_combo.current_id() is None:
            self.village_combo.set_current_id(hit.village_id)
        self._clear_error("联系方式")
        self._load_history(hit.id)

    def _phone_finished(self) -> None:
        problem = phone_problem(self.phone_edit.text())
        if problem:
            self._set_error("联系方式", problem)
            return
        self._clear_error("联系方式")
        self._look_up_known()

    def _address_finished(self) -> None:
        if not self.phone_edit.text().strip():
            self._look_up_known()

    def _look_up_known(self) -> None:
        with self.ctx.db.read() as s:
            hit = intake.known_petitioner(s, self.phone_edit.text(), self.name_edit.text(),
                                          self.address_edit.text())
        if hit is None:
            self._show_history(None)
            return
        self.apply_petitioner(hit)

    def _load_history(self, petitioner_id: int) -> None:
        window = self.choices.repeat_window_days if self.choices else 90
        with self.ctx.db.read() as s:
            found = intake.history(s, petitioner_id, min(self.received_on(), date.today()), window)
        self._show_history(found)

    def _show_history(self, found: PetitionerHistory | None) -> None:
        self.history = found
        table = self.history_table
        table.setRowCount(0)
        if found is None or not found.earlier:
            self.repeat_label.hide()
            self.history_hint.setText("该反映人没有以往诉求" if found is not None else
                                      "输入电话或选择已登记的反映人后显示")
            self.history_hint.show()
            return
        self.history_hint.hide()
        self.repeat_label.setText(found.warning())
        style = ("background:#fdecea; color:#b71c1c; border:1px solid #e57373;" if found.is_repeat
                 else "background:#fff8e1; color:#6d4c00; border:1px solid #ffd54f;")
        self.repeat_label.setStyleSheet(f"{style} padding:6px; font-weight:bold;")
        self.repeat_label.show()
        table.setRowCount(len(found.earlier))
        for row, d in enumerate(found.earlier):
            cells = [d.code, d.received.isoformat(), d.status, d.content]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, d.id)
                if d.in_window:
                    item.setForeground(Qt.GlobalColor.darkRed)
                table.setItem(row, col, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

    def _open_history_row(self, index: QModelIndex) -> None:
        demand_id = index.data(Qt.ItemDataRole.UserRole)
        if demand_id is not None:
            self.ctx.nav.open_demand.emit(int(demand_id))

    # -- errors -------------------------------------------------------------------------

    def _set_error(self, field: str, reason: str) -> None:
        label = self.errors.get(field)
        if label is None:
            self._show_banner(f"{field}：{reason}", error=True)
            return
        label.setText(f"{field}：{reason}")
        label.show()

    def _clear_error(self, field: str) -> None:
        label = self.errors.get(field)
        if label is not None:
            label.clear()
            label.hide()

    def error_text(self, field: str) -> str:
        label = self.errors.get(field)
        return label.text() if label is not None and not label.isHidden() else ""

    def _focus_field(self, field: str) -> None:
        widget = self.field_widgets.get(field)
        if field == "诉求类别":
            widget = self.cat_combos[0]
        if widget is not None:
            widget.setFocus()

    def _show_banner(self, html: str, error: bool = False) -> None:
        style = ("background:#fdecea; color:#b71c1c; border:1px solid #e57373;" if error
                 else "background:#e8f5e9; color:#1b5e20; border:1px solid #81c784;")
        self.banner.setStyleSheet(f"{style} padding:8px; font-size:14px;")
        self.banner.setText(html)
        self.banner.show()

    def _open_link(self, link: str) -> None:
        if link.startswith("demand:"):
            self.ctx.nav.open_demand.emit(int(link.split(":", 1)[1]))

    # -- saving -------------------------------------------------------------------------

    def collect(self) -> demands.DemandInput | None:
        """The form as a DemandInput, or None after showing what is wrong (in Chinese)."""
        problems: list[tuple[str, str]] = []
        dtype = self.selected_type()
        if dtype is None:
            typed = self.type_combo.unresolved_text()
            problems.append(("诉求类型", f"没有“{typed}”，应为 咨询/建议/求决/投诉" if typed else "请选择"))
        for label, combo, name in (("村(社区)", self.village_combo, "村(社区)"), ("网格", self.grid_combo, "网格"),
                                   ("诉求来源", self.channel_combo, "诉求来源")):
            if combo.unresolved_text():
                problems.append((label, f"没有名为“{combo.unresolved_text()}”的{name}"))
        if any(c.unresolved_text() for c in self.cat_combos):
            problems.append(("诉求类别", "请从列表中选择类别"))
        if not self.content_edit.toPlainText().strip():
            problems.append(("诉求内容", "不能为空"))
        problem = phone_problem(self.phone_edit.text())
        if problem:
            problems.append(("联系方式", problem))
        if self.received_on() > date.today():
            problems.append(("受理日期", f"{self.received_on()} 晚于今天，不能是将来的日期"))
        for label in self.errors:
            self._clear_error(label)
        if problems:
            for field, reason in problems:
                self._set_error(field, reason)
            self._show_banner(f"未保存：有 {len(problems)} 处需要更正（见红字）", error=True)
            ordered = sorted(problems, key=lambda p: self.FIELD_LABELS.index(p[0]))
            self._focus_field(ordered[0][0])
            return None
        assert dtype is not None
        return demands.DemandInput(
            type=dtype,
            content=self.content_edit.toPlainText(),
            received_on=self.received_on(),
            category_id=self.category_id(),
            channel_id=self.channel_combo.current_id(),
            village_id=self.village_combo.current_id(),
            grid_id=self.grid_combo.current_id(),
            petitioner_name=self.name_edit.text(),
            petitioner_phone=self.phone_edit.text(),
            petitioner_address=self.address_edit.text(),
            remarks=self.remarks_edit.text(),
        )

    def save(self, start_next: bool = False) -> int | None:
        """Register the demand; returns its id (None when nothing was saved)."""
        if self.saved_demand is not None:
            if start_next:
                self.new_form(keep_batch=True)
            return None
        if not self.ctx.can("register"):
            self._show_banner(f"用户“{self.ctx.user.name}”没有受理登记权限（需要“登记员”角色）", error=True)
            return None
        for combo in (self.type_combo, *self.cat_combos, self.channel_combo, self.village_combo, self.grid_combo):
            combo.resolve()
        data = self.collect()
        if data is None:
            return None
        try:
            with self.ctx.db.write() as s:
                demand = demands.register(s, self.ctx.user, data)
                demand_id, code, repeat = demand.id, demand.code, demand.is_repeat
        except ValidationError as exc:
            self._set_error(exc.field, exc.reason)
            self._show_banner(f"未保存：{exc}", error=True)
            self._focus_field(exc.field)
            return None
        except DomainError as exc:
            self._show_banner(f"未保存：{exc}", error=True)
            return None
        note = "，已标记为重复诉求" if repeat else ""
        link = f"<a href='demand:{demand_id}'>打开</a>"
        self.saved.emit(demand_id, code)
        self.ctx.nav.data_changed.emit()
        if start_next:
            self.new_form(keep_batch=True)
            self._show_banner(f"上一件已登记，编号 <b>{code}</b>{note}（{link}）。请登记下一件。")
        else:
            self.saved_demand = (demand_id, code)
            self._set_editable(False)
            self._show_banner(f"已登记，编号 <b style='font-size:16px'>{code}</b>{note}（{link}）。"
                              "按 Ctrl+N 或 Ctrl+Shift+S 登记下一件。")
            self.new_button.setFocus()
        return demand_id

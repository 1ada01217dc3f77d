"""The demand: all its fields, one timeline of its story, and the actions its state allows.

Each action button is shown only when the lifecycle allows the action in the demand's
current state and the user's roles allow the operation. An action asks for its inputs in
a small form (which stays open when the service refuses, so nothing typed is lost), runs
the service in one write transaction off the GUI thread with the version of the demand as
it was loaded (a change made meanwhile by another session is reported, never
overwritten), then reloads the demand and tells the other screens.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QIcon,
    QImageReader,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app import access, lifecycle
from app.errors import ConflictError
from app.models import Attachment, User
from app.services import demands, queries
from app.services.queries import AttachmentInfo, DemandDetail
from app.views import tasks
from app.views.context import AppContext
from app.vocab import (
    INITIAL_RESULTS,
    PARTY_DUTY,
    PARTY_ORDER,
    REVIEW_RESULTS,
    DemandType,
    Level,
    Party,
    Satisfaction,
    ScreeningResult,
    Status,
)

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
THUMB = 96
FIELD_COLUMNS = 3  # label/value pairs per row of the fields grid
STATUS_COLOURS = {
    Status.REGISTERED: "#8c8c8c", Status.SCREENED: "#8c8c8c", Status.PENDING_ASSIGNMENT: "#d48806",
    Status.HANDLING: "#1677ff", Status.REWORK: "#cf1322", Status.AWAITING_SIGNOFF: "#722ed1",
    Status.CLOSED: "#389e0d", Status.EVALUATED: "#389e0d", Status.INVALID: "#595959",
}
EVALUATION_METHODS = ["电话回访", "当面回访", "短信回访", "线上评价"]


# -- the action form ----------------------------------------------------------------------


@dataclass
class Field:
    name: str
    label: str
    kind: str = "line"  # line, text, choice, editable, multi, date, int, check
    options: list[tuple[str, Any]] = field(default_factory=list)
    default: Any = None


class ActionForm(QDialog):
    """Asks for an action's inputs; ``submitted`` carries them, the caller closes it on success."""

    submitted = Signal(dict)

    def __init__(self, parent: QWidget, title: str, fields: list[Field], intro: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        if intro:
            lab = QLabel(intro, self)
            lab.setWordWrap(True)
            layout.addWidget(lab)
        form = QFormLayout()
        self.widgets: dict[str, QWidget] = {}
        self.fields = {f.name: f for f in fields}
        for f in fields:
            w = self._widget(f)
            w.setObjectName(f.name)
            self.widgets[f.name] = w
            if f.kind == "check":
                form.addRow("", w)
            else:
                form.addRow(f.label, w)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("确定")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(lambda: self.submitted.emit(self.values()))
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if fields:
            first = self.widgets[fields[0].name]
            first.setFocus()

    def _widget(self, f: Field) -> QWidget:
        if f.kind == "text":
            w = QPlainTextEdit(self)
            w.setTabChangesFocus(True)
            w.setMinimumHeight(80)
            if f.default:
                w.setPlainText(str(f.default))
            return w
        if f.kind in ("choice", "editable"):
            w = QComboBox(self)
            w.setEditable(f.kind == "editable")
            for text, data in f.options:
                w.addItem(text, data)
            if f.default is not None:
                at = w.findData(f.default)
                if at >= 0:
                    w.setCurrentIndex(at)
                elif f.kind == "editable":
                    w.setEditText(str(f.default))
            return w
        if f.kind == "multi":
            w = QListWidget(self)
            w.setMaximumHeight(120)
            for text, data in f.options:
                item = QListWidgetItem(text, w)
                item.setData(Qt.ItemDataRole.UserRole, data)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
            return w
        if f.kind == "date":
            w = QDateEdit(self)
            w.setCalendarPopup(True)
            w.setDisplayFormat("yyyy-MM-dd")
            w.setDate(QDate(f.default or date.today()))
            w.setMaximumDate(QDate.currentDate())
            return w
        if f.kind == "int":
            w = QSpinBox(self)
            w.setRange(1, 365)
            w.setValue(int(f.default or 1))
            return w
        if f.kind == "check":
            w = QCheckBox(f.label, self)
            w.setChecked(bool(f.default))
            return w
        w = QLineEdit(self)
        if f.default:
            w.setText(str(f.default))
        return w

    def widget(self, name: str) -> QWidget:
        return self.widgets[name]

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.widgets.items():
            if isinstance(w, QPlainTextEdit):
                out[name] = w.toPlainText()
            elif isinstance(w, QComboBox):
                out[name] = w.currentText() if w.isEditable() else w.currentData()
            elif isinstance(w, QListWidget):
                out[name] = [w.item(i).data(Qt.ItemDataRole.UserRole) for i in range(w.count())
                             if w.item(i).checkState() == Qt.CheckState.Checked]
            elif isinstance(w, QDateEdit):
                out[name] = w.date().toPython()
            elif isinstance(w, QSpinBox):
                out[name] = w.value()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QLineEdit):
                out[name] = w.text()
        return out

    def set_busy(self, busy: bool) -> None:
        self.ok_button.setEnabled(not busy)


# -- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    lifecycle: str  # the lifecycle action whose states the button follows
    operation: str | None  # the access operation; None: decided per demand (the sign-offs)


ACTIONS: tuple[Action, ...] = (
    Action("screen", "初审", "screen_valid", "screen"),
    Action("review", "复核", "review_accept", "review"),
    Action("answer", "即时答复", "answer_on_spot", "answer_on_spot"),
    Action("assign", "交办", "assign", "assign"),
    Action("transfer", "移交", "transfer", "transfer"),
    Action("progress", "填报进展", "progress", "progress"),
    Action("attach", "上传佐证", "attach", "attach"),
    Action("request_extension", "申请延期", "request_extension", "request_extension"),
    Action("decide_extension", "审批延期", "decide_extension", "decide_extension"),
    Action("pause", "中止计时", "pause", "pause"),
    Action("resume", "恢复计时", "resume", "pause"),
    Action("submit_signoff", "提交会签", "submit_signoff", "submit_signoff"),
    Action("sign", "会签签字", "sign", None),
    Action("evaluate", "评价", "evaluate_ok", "evaluate"),
    Action("reopen", "重新打开", "reopen", "reopen"),
    Action("revisit", "回头看", "revisit", "revisit"),
    Action("supervise", "督办", "supervise", "supervise"),
)
ACTION_BY_KEY = {a.key: a for a in ACTIONS}


def operation_of(action: Action, d: DemandDetail) -> str | None:
    if action.operation is not None:
        return action.operation
    return access.SIGN_OPERATION[d.next_party] if d.next_party is not None else None


def applies(action: Action, d: DemandDetail) -> bool:
    """Whether the action makes sense for this demand now (state and its own condition)."""
    if not lifecycle.allowed(d.status, action.lifecycle):
        return False
    match action.key:
        case "answer":
            return d.type is DemandType.CONSULT
        case "request_extension":
            return d.pending_extension is None
        case "decide_extension":
            return d.pending_extension is not None
        case "pause" | "submit_signoff":
            return d.paused_since is None
        case "resume":
            return d.paused_since is not None
        case "sign":
            return d.next_party is not None
    return True


Perform = Callable[[Session, User, int, dict[str, Any]], Any]


def _perform_screen(s: Session, u: User, did: int, v: dict[str, Any]) -> Any:
    return demands.screen(s, u, did, v["result"], v["explanation"], v["duplicate_of"].strip() or None)


def _perform_sign(s: Session, u: User, did: int, v: dict[str, Any]) -> Any:
    return demands.sign(s, u, did, v["party"], v["signer_name"], v["signed_on"], v["opinion"], v["refused"])


PERFORM: dict[str, Perform] = {
    "screen": _perform_screen,
    "review": lambda s, u, did, v: demands.review(s, u, did, v["result"], v["explanation"]),
    "answer": lambda s, u, did, v: demands.answer_on_spot(s, u, did, v["answer"]),
    "assign": lambda s, u, did, v: demands.assign(s, u, did, v["unit"], v["co_units"], v["level"], v["reason"]),
    "transfer": lambda s, u, did, v: demands.transfer(s, u, did, v["unit"], v["reason"], v["level"]),
    "progress": lambda s, u, did, v: demands.add_progress(s, u, did, v["text"], v["done_on"]),
    "request_extension": lambda s, u, did, v: demands.request_extension(s, u, did, v["days"], v["reason"]),
    "decide_extension": lambda s, u, did, v: demands.decide_extension(s, u, v["extension_id"], v["approve"]),
    "pause": lambda s, u, did, v: demands.pause(s, u, did, v["reason"], v["on"]),
    "resume": lambda s, u, did, v: demands.resume(s, u, did, v["on"]),
    "submit_signoff": lambda s, u, did, v: demands.submit_signoff(s, u, did, v["result_summary"]),
    "sign": _perform_sign,
    "evaluate": lambda s, u, did, v: demands.evaluate(s, u, did, v["result"], v["method"], v["comment"], v["on"]),
    "reopen": lambda s, u, did, v: demands.reopen(s, u, did, v["reason"]),
    "revisit": lambda s, u, did, v: demands.revisit(s, u, did, v["finding"], v["on"], v["recurred"]),
    "supervise": lambda s, u, did, v: demands.supervise(s, u, did, v["note"]),
    "attach": lambda s, u, did, v: [demands.attach(s, u, did, Path(p), v["files_dir"]) for p in v["paths"]],
}


def thumbnail(path: Path, size: int = THUMB) -> QPixmap | None:
    reader = QImageReader(str(path))
    reader.setDecideFormatFromContent(True)
    reader.setAutoTransform(True)
    original = reader.size()
    if original.isValid() and original.width() > 0 and original.height() > 0:
        reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QPixmap.fromImage(image) if not image.isNull() else None


# -- the dialog --------------------------------------------------------------------------------


class DetailDialog(QDialog):
    """One demand: fields, timeline, evidence and actions."""

    action_done = Signal(str)
    action_failed = Signal(str, str)  # action key, message
    reloaded = Signal()

    def __init__(self, ctx: AppContext, demand_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.demand_id = demand_id
        self.detail: DemandDetail | None = None
        self.current_form: ActionForm | None = None
        self.last_error = ""
        self.busy = False
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setAcceptDrops(True)
        self.resize(1100, 760)
        self._build()
        self.load()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QHBoxLayout(self)
        main = QVBoxLayout()
        self.title_label = QLabel(self)
        big = QFont(self.title_label.font())
        big.setPointSizeF(big.pointSizeF() * 1.35)
        big.setBold(True)
        self.title_label.setFont(big)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        main.addWidget(self.title_label)

        self.fields_box = QGroupBox("登记信息", self)
        self.fields_grid = QGridLayout(self.fields_box)
        self.fields_grid.setHorizontalSpacing(12)
        for col in range(1, 2 * FIELD_COLUMNS, 2):
            self.fields_grid.setColumnStretch(col, 1)
        self.field_labels: dict[str, QLabel] = {}

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.fields_box)
        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(QLabel("办理经过", lower))
        self.timeline = QTreeWidget(lower)
        self.timeline.setColumnCount(4)
        self.timeline.setHeaderLabels(["时间", "事项", "内容", "经办人"])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setIconSize(QSize(40, 40))
        self.timeline.setWordWrap(True)
        self.timeline.setAlternatingRowColors(True)
        self.timeline.setColumnWidth(0, 140)
        self.timeline.setColumnWidth(1, 110)
        self.timeline.setColumnWidth(2, 470)
        self.timeline.itemDoubleClicked.connect(self._timeline_open)
        lower_layout.addWidget(self.timeline, 3)
        self.files_label = QLabel("佐证材料（双击打开；可将文件拖入本窗口上传）", lower)
        lower_layout.addWidget(self.files_label)
        self.files = QListWidget(lower)
        self.files.setViewMode(QListWidget.ViewMode.IconMode)
        self.files.setIconSize(QSize(THUMB, THUMB))
        self.files.setGridSize(QSize(THUMB + 40, THUMB + 40))
        self.files.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.files.setMovement(QListWidget.Movement.Static)
        self.files.setWordWrap(True)
        self.files.setMaximumHeight(THUMB + 56)
        self.files.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.files.itemDoubleClicked.connect(lambda item: self.open_attachment(item.data(Qt.ItemDataRole.UserRole)))
        lower_layout.addWidget(self.files, 1)
        split.addWidget(lower)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        main.addWidget(split, 1)
        outer.addLayout(main, 1)

        side = QVBoxLayout()
        side.addWidget(QLabel("可进行的操作", self))
        self.action_buttons: dict[str, QPushButton] = {}
        for action in ACTIONS:
            button = QPushButton(action.label, self)
            button.setObjectName(action.key)
            button.clicked.connect(lambda _=False, k=action.key: self.start_action(k))
            button.hide()
            side.addWidget(button)
            self.action_buttons[action.key] = button
        self.no_actions = QLabel("（当前状态下您没有可进行的操作）", self)
        self.no_actions.setWordWrap(True)
        side.addWidget(self.no_actions)
        side.addStretch(1)
        side.addWidget(QLabel("打印", self))
        sheet = QPushButton("四方会签表…", self)
        sheet.setObjectName("print_signoff_sheet")
        sheet.clicked.connect(self.preview_signoff_sheet)
        side.addWidget(sheet)
        dossier = QPushButton("一案一卷…", self)
        dossier.setObjectName("print_dossier")
        dossier.clicked.connect(self.preview_dossier)
        side.addWidget(dossier)
        refresh = QPushButton("刷新", self)
        refresh.clicked.connect(self.load)
        side.addWidget(refresh)
        close = QPushButton("关闭", self)
        close.clicked.connect(self.close)
        side.addWidget(close)
        outer.addLayout(side)

    # -- documents -------------------------------------------------------------------------

    def preview_signoff_sheet(self) -> tasks.Task:
        from app.reports.signoff_sheet import make_signoff_sheet
        from app.views.pdf_preview import preview_generated

        code = self.detail.row.code
        return preview_generated(self, "四方会签表", f"{code}-会签表.pdf",
                                 lambda out: make_signoff_sheet(self.ctx.db, code, out))

    def preview_dossier(self) -> tasks.Task:
        from app.reports.dossier import make_dossier
        from app.views.pdf_preview import preview_generated

        code = self.detail.row.code
        return preview_generated(self, "一案一卷", f"{code}-案卷.pdf",
                                 lambda out: make_dossier(self.ctx.db, code, out, self.ctx.files_dir))

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        with self.ctx.db.read() as s:
            self.detail = queries.detail(s, self.demand_id)
            self._choices = queries.choices(s)
            self._petitioner_name = self.detail.row.petitioner
        self._show()
        self.reloaded.emit()

    @property
    def status(self) -> Status | None:
        return self.detail.status if self.detail else None

    def _show(self) -> None:
        d = self.detail
        assert d is not None
        r = d.row
        self.setWindowTitle(f"诉求 {r.code}")
        colour = STATUS_COLOURS.get(d.status, "#595959")
        self.title_label.setText(
            f'{r.code}　<span style="color:{colour}">【{d.status.label}】</span>　{r.type}'
            + ("　<span style='color:#cf1322'>重复诉求</span>" if d.is_repeat else "")
            + ("　<span style='color:#cf1322'>已督办</span>" if d.supervised else ""))
        clock = ""
        if r.deadline:
            clock = f"{r.deadline}" + ("（暂定）" if r.provisional else "")
            if r.remaining is not None:
                clock += f"　{r.clock}，" + (f"超期 {-r.remaining} 个工作日" if r.remaining < 0
                                             else f"剩余 {r.remaining} 个工作日")
        if d.paused_since:
            clock += f"　自 {d.paused_since} 中止计时"
        rule = d.rule_set + (f"（外部编号 {d.external_ref}）" if d.external_ref else "")
        unit = f"{r.unit}（{d.level}级）" if r.unit and d.level else r.unit
        pairs = [
            ("受理日期", str(r.received)), ("办理期限", clock or "—"),
            ("反映人", r.petitioner + (f"（另有 {d.earlier} 件诉求）" if d.earlier else "")),
            ("联系方式", r.phone), ("住址", r.address), ("村(社区)", r.village + (f" · {d.grid}" if d.grid else "")),
            ("诉求类别", r.category), ("诉求来源", r.channel), ("时限规则", rule), ("登记人", d.registrar),
            ("责任单位", unit or "—"), ("协办单位", "、".join(d.co_units) or "—"),
            ("移交次数", str(d.transfer_count)), ("延期", f"{d.extension_days} 天" if d.extension_days else "—"),
            ("二次整改", f"{d.rework_count} 次" if d.rework_count else "—"), ("满意度", r.satisfaction or "—"),
            ("办结日期", str(r.closed) if r.closed else "—"), ("原编号", d.original_no or "—"),
        ]
        if d.duplicate_of:
            pairs.append(("重复于", d.duplicate_of))
        wide = [("诉求内容", r.content)]
        if d.answer:
            wide.append(("即时答复", d.answer))
        if d.result_summary:
            wide.append(("办理结果", d.result_summary))
        if d.remarks:
            wide.append(("备注", d.remarks))
        while self.fields_grid.count():
            item = self.fields_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.field_labels.clear()
        for i, (name, value) in enumerate(pairs):
            self._add_field(name, value, i // FIELD_COLUMNS, (i % FIELD_COLUMNS) * 2)
        start = -(-len(pairs) // FIELD_COLUMNS)
        for j, (name, value) in enumerate(wide):
            self._add_field(name, value, start + j, 0, span=2 * FIELD_COLUMNS - 1)

        self._show_timeline(d)
        self._show_files(d)
        self._update_actions()

    def _add_field(self, name: str, value: str, row: int, col: int, span: int = 1) -> None:
        key = QLabel(f"{name}：", self.fields_box)
        key.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        key.setStyleSheet("color: #595959;")
        val = QLabel(value, self.fields_box)
        val.setWordWrap(True)
        val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields_grid.addWidget(key, row, col)
        self.fields_grid.addWidget(val, row, col + 1, 1, span)
        self.field_labels[name] = val

    def _show_timeline(self, d: DemandDetail) -> None:
        files = {a.id: a for a in d.attachments}
        self.timeline.clear()
        for ev in d.story:
            item = QTreeWidgetItem([ev.at.strftime("%Y-%m-%d %H:%M"), ev.kind, ev.text, ev.who])
            item.setToolTip(2, ev.text)
            if isinstance(ev.ref, Attachment) and ev.ref.id in files:
                info = files[ev.ref.id]
                item.setData(0, Qt.ItemDataRole.UserRole, info)
                icon = self._icon(info)
                if icon is not None:
                    item.setIcon(2, icon)
            self.timeline.addTopLevelItem(item)
        self.timeline.scrollToBottom()

    def _show_files(self, d: DemandDetail) -> None:
        self.files.clear()
        for info in d.attachments:
            item = QListWidgetItem(info.name, self.files)
            item.setData(Qt.ItemDataRole.UserRole, info)
            item.setToolTip(f"{info.name}\n{info.size:,} 字节，{info.at:%Y-%m-%d %H:%M}")
            icon = self._icon(info)
            item.setIcon(icon if icon is not None else self.style().standardIcon(
                self.style().StandardPixmap.SP_FileIcon))
        self.files.setVisible(bool(d.attachments))
        self.files_label.setText("佐证材料（双击打开；可将文件拖入本窗口上传）" if d.attachments
                                 else "暂无佐证材料（可将文件拖入本窗口上传）")

    def _icon(self, info: AttachmentInfo) -> QIcon | None:
        if Path(info.name).suffix.lower() not in IMAGE_SUFFIXES:
            return None
        pix = thumbnail(demands.stored_path(self.ctx.files_dir, info.sha256))
        return QIcon(pix) if pix is not None else None

    def visible_actions(self) -> list[str]:
        return [k for k, b in self.action_buttons.items() if not b.isHidden()]

    def _update_actions(self) -> None:
        d = self.detail
        assert d is not None
        any_shown = False
        for action in ACTIONS:
            button = self.action_buttons[action.key]
            op = operation_of(action, d)
            show = applies(action, d) and op is not None and self.ctx.can(op)
            if action.key == "sign" and d.next_party is not None:
                button.setText(f"会签：{d.next_party.label}签字")
            button.setVisible(show)
            button.setEnabled(not self.busy)
            any_shown = any_shown or show
        self.no_actions.setVisible(not any_shown)

    # -- actions ----------------------------------------------------------------------------

    def start_action(self, key: str) -> ActionForm | None:
        """Open the action's form (or, for 上传佐证, the file dialog)."""
        if key == "attach":
            names, _ = QFileDialog.getOpenFileNames(self, "选择佐证材料", "", "所有文件 (*)")
            if names:
                self.attach_files([Path(n) for n in names])
            return None
        title, fields, intro = self._form(key)
        form = ActionForm(self, title, fields, intro)
        extra = self._fixed_values(key)
        form.submitted.connect(lambda values: self.perform(key, values | extra, form))
        form.finished.connect(lambda _=0: self._forget_form(form))
        self.current_form = form
        form.open()
        return form

    def _fixed_values(self, key: str) -> dict[str, Any]:
        """Inputs the form does not ask for: which extension is decided, which party signs."""
        d = self.detail
        assert d is not None
        if key == "decide_extension" and d.pending_extension is not None:
            return {"extension_id": d.pending_extension.id}
        if key == "sign":
            return {"party": d.next_party}
        return {}

    def _forget_form(self, form: ActionForm) -> None:
        if self.current_form is form:
            self.current_form = None

    def attach_files(self, paths: list[Path]) -> None:
        self.perform("attach", {"paths": [str(p) for p in paths], "files_dir": self.ctx.files_dir})

    def _form(self, key: str) -> tuple[str, list[Field], str]:
        d = self.detail
        assert d is not None
        units = [(n, i) for i, n, _ in self._choices.units]
        levels = [("按单位级别", None)] + [(f"{lv.label}级", lv) for lv in Level]
        today = date.today()
        match key:
            case "screen":
                return "初审", [
                    Field("result", "初审结果", "choice", [(r.label, r) for r in INITIAL_RESULTS], ScreeningResult.VALID),
                    Field("explanation", "解释疏导情况", "text"),
                    Field("duplicate_of", "原诉求编码（重复时）"),
                ], "无效（重复、虚假、不属于受理范围）的诉求将关闭，须记录解释疏导情况。"
            case "review":
                return "复核", [
                    Field("result", "复核结果", "choice", [(r.label, r) for r in REVIEW_RESULTS],
                          ScreeningResult.REASONABLE),
                    Field("explanation", "解释疏导情况", "text"),
                ], "“不合理”的诉求在解释疏导后关闭。"
            case "answer":
                return "咨询即时答复", [Field("answer", "答复内容", "text")], "答复后进入四方会签。"
            case "assign":
                own = next((i for i, n, lv in self._choices.units
                            if lv is Level.VILLAGE and is_village_committee(n, d.row.village)), None)
                return "交办", [
                    Field("unit", "责任单位", "choice", units, own),
                    Field("level", "层级", "choice", levels, None),
                    Field("co_units", "协办单位（1+N）", "multi", units),
                    Field("reason", "交办说明"),
                ], "小事村(社区)办，难事乡镇(街道)担，大事区上管。"
            case "transfer":
                others = [(n, i) for n, i in units if i != d.unit_id]
                return "移交", [
                    Field("unit", "移交至", "choice", others),
                    Field("level", "层级", "choice", levels, None),
                    Field("reason", "移交理由", "text"),
                ], f"当前责任单位：{d.row.unit or '无'}。每次移交都记录在案，诉求仍留在本乡镇台账中跟踪。"
            case "progress":
                return "填报进展", [Field("done_on", "办理日期", "date", default=today),
                                   Field("text", "办理情况", "text")], ""
            case "request_extension":
                return "申请延期", [Field("days", "延期天数", "int", default=5), Field("reason", "延期理由", "text")], \
                    f"当前期限 {d.row.deadline or '—'}；延期须经领导审批。"
            case "decide_extension":
                ext = d.pending_extension
                assert ext is not None
                return "审批延期", [
                    Field("approve", "审批意见", "choice", [("批准", True), ("不批准", False)], True),
                ], f"{ext.requested_by} 于 {ext.at:%Y-%m-%d} 申请延期 {ext.days} 天。\n理由：{ext.reason}"
            case "pause":
                return "中止计时", [Field("reason", "中止理由", "text"), Field("on", "中止日期", "date", default=today)], \
                    "中止期间不计入办理时限，恢复后期限顺延。"
            case "resume":
                return "恢复计时", [Field("on", "恢复日期", "date", default=today)], f"自 {d.paused_since} 中止计时。"
            case "submit_signoff":
                return "提交会签", [Field("result_summary", "办理结果", "text", default=d.result_summary)], \
                    "办理完毕后提交四方会签：诉求人 → 办理人 → 分管领导 → 主要领导。"
            case "sign":
                party = d.next_party
                assert party is not None
                name = self._petitioner_name if party is Party.PETITIONER else self.ctx.user.name
                done = " → ".join(f"{p.label}{'✓' if i < PARTY_ORDER.index(party) else ''}"
                                  for i, p in enumerate(PARTY_ORDER))
                return f"四方会签：{party.label}", [
                    Field("signer_name", "签字人", default=name),
                    Field("signed_on", "签字日期", "date", default=today),
                    Field("opinion", "意见", "text"),
                    Field("refused", "拒绝签字（须在“意见”中写明理由，诉求退回办理）", "check"),
                ], f"第 {d.signoff_round} 轮会签：{done}\n{party.label}：{PARTY_DUTY[party]}。"
            case "evaluate":
                return "评价", [
                    Field("result", "评价结果", "choice", [(s.label, s) for s in Satisfaction], Satisfaction.SATISFIED),
                    Field("method", "回访方式", "editable", [(m, m) for m in EVALUATION_METHODS], EVALUATION_METHODS[0]),
                    Field("comment", "诉求人意见", "text"),
                    Field("on", "评价日期", "date", default=today),
                ], "“不满意”将转为二次整改，并按复办时限重新计算期限。"
            case "reopen":
                return "重新打开", [Field("reason", "重新打开理由", "text")], "已办结的诉求只能说明理由后重新打开。"
            case "revisit":
                return "回头看", [Field("on", "回访日期", "date", default=today), Field("finding", "回访情况", "text"),
                                  Field("recurred", "问题出现反复", "check")], ""
            case "supervise":
                return "督办", [Field("note", "督办意见", "text")], ""
        raise KeyError(key)

    def perform(self, key: str, values: dict[str, Any], form: ActionForm | None = None) -> tasks.Task | None:
        """Run one action in a write transaction, checked against the version as loaded."""
        if self.detail is None or self.busy:
            return None
        version, did, user = self.detail.version, self.demand_id, self.ctx.user
        run = PERFORM[key]
        label = ACTION_BY_KEY[key].label

        def work(control: tasks.TaskControl) -> None:
            with self.ctx.db.write() as s:
                demands.get(s, did, expected_version=version)  # ConflictError if changed meanwhile
                run(s, user, did, values)

        def done(_: Any) -> None:
            if not shiboken6.isValid(self):
                self.ctx.nav.data_changed.emit()
                return
            self._set_busy(False, form)
            if form is not None:
                form.accept()
            self.load()
            self.ctx.nav.data_changed.emit()
            self.action_done.emit(key)

        def failed(exc: BaseException) -> None:
            if not shiboken6.isValid(self):
                return
            self._set_busy(False, form)
            self.last_error = str(exc)
            if isinstance(exc, ConflictError):
                if form is not None:
                    form.reject()
                self.load()
            tasks.show_error(form if form is not None and form.isVisible() else self, exc, f"{label}未完成")
            self.action_failed.emit(key, str(exc))

        self._set_busy(True, form)
        return tasks.run(work, title=f"正在{label}", parent=self, on_done=done, on_error=failed, write=True,
                         cancellable=False)

    def _set_busy(self, busy: bool, form: ActionForm | None) -> None:
        self.busy = busy
        if form is not None:
            form.set_busy(busy)
        for button in self.action_buttons.values():
            button.setEnabled(not busy)

    # -- files -------------------------------------------------------------------------------

    def open_attachment(self, info: AttachmentInfo | None) -> bool:
        """Open a stored file with the system's program, under its original name."""
        if info is None:
            return False
        stored = demands.stored_path(self.ctx.files_dir, info.sha256)
        if not stored.exists():
            tasks.show_message(self, f"找不到附件文件：{info.name}", "无法打开")
            return False
        folder = Path(tempfile.gettempdir()) / "kuaichu-open" / info.sha256[:12]
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(info.name).name
        if not target.exists():
            shutil.copyfile(stored, target)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))

    def _timeline_open(self, item: QTreeWidgetItem, _column: int) -> None:
        info = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(info, AttachmentInfo):
            self.open_attachment(info)

    def _can_attach(self) -> bool:
        return self.detail is not None and not self.action_buttons["attach"].isHidden() and not self.busy

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and self._can_attach():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        paths = [p for p in paths if p.is_file()]
        if paths and self._can_attach():
            event.acceptProposedAction()
            self.attach_files(paths)


def is_village_committee(unit_name: str, village: str) -> bool:
    """Whether a village-level unit is the committee of this village (named after it)."""
    return bool(village) and unit_name.startswith(village)

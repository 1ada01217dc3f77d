"""导入台账向导: bring an existing Excel/WPS/CSV ledger into the database.

Pages: 1 choose the file and its sheets; 2 check which column holds which field (and
save or reuse the choices); 3 a dry run with its counts, the values the lists lack (map
each to an existing entry, create it, or leave it empty) and the problems found, and the
choice between all-or-nothing and skipping invalid rows; 4 the import itself, in the
background with progress and 取消, then its result and the problem list to save.

All the work is ``app.excel.importer``; reading and checking run on the thread pool, the
import on the write worker, so the window never freezes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.errors import DomainError
from app.excel import importer
from app.excel.choices import ListNames, load_names
from app.excel.importer import Analysis, ImportOptions, ImportResult
from app.excel.mapping import FIELDS, IGNORE, REQUIRED, ImportMapping, ValueChoice, column_letter
from app.views import tasks
from app.views.context import AppContext
from app.views.export_actions import default_dir
from app.vocab import DemandType, Level

FILE_FILTER = "表格文件 (*.xlsx *.xlsm *.xls *.csv *.txt *.ods);;所有文件 (*)"
MAPPING_FILTER = "列对应文件 (*.json)"
MAX_ISSUES_SHOWN = 500
PAGE_FILE, PAGE_MAPPING, PAGE_CHECK, PAGE_RUN = range(4)


def _item(text: Any, editable: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.horizontalHeader().setStretchLastSection(True)
    table.setWordWrap(False)
    return table


class ImportWizard(QWizard):
    """The four pages share this object's state: the file, its analysis, the options."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.path: Path | None = None
        self.mapping_path: Path | None = None
        self.analysis: Analysis | None = None
        self.options = ImportOptions()
        self.preview: ImportResult | None = None
        self.result: ImportResult | None = None
        self.names = ListNames()
        self.setWindowTitle("导入台账")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        for button, text in ((QWizard.WizardButton.NextButton, "下一步 >"),
                             (QWizard.WizardButton.BackButton, "< 上一步"),
                             (QWizard.WizardButton.CancelButton, "取消"),
                             (QWizard.WizardButton.FinishButton, "完成"),
                             (QWizard.WizardButton.CommitButton, "开始导入")):
            self.setButtonText(button, text)
        self.file_page = FilePage(self)
        self.mapping_page = MappingPage(self)
        self.check_page = CheckPage(self)
        self.run_page = RunPage(self)
        self.setPage(PAGE_FILE, self.file_page)
        self.setPage(PAGE_MAPPING, self.mapping_page)
        self.setPage(PAGE_CHECK, self.check_page)
        self.setPage(PAGE_RUN, self.run_page)
        self.resize(980, 680)

    def reject(self) -> None:
        """取消, Esc or the window's close button: while the import runs, cancel it first
        (nothing is written) and keep the window until it has stopped."""
        if self.run_page.task is not None:
            self.run_page.cancel()
            return
        super().reject()

    def selected_analysis(self) -> Analysis:
        assert self.analysis is not None
        return self.analysis

    def save_mapping(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "保存列对应关系", str(default_dir() / "列对应.json"),
                                              MAPPING_FILTER)
        if not name:
            return
        try:
            self.options.mapping.save(Path(name))
        except OSError as exc:
            tasks.show_error(self, DomainError(f"无法保存：{exc}"))
            return
        self.mapping_path = Path(name)
        tasks.show_message(self, f"已保存列对应关系：{name}\n下次导入同样格式的台账时可直接载入。", "保存")

    def save_report(self, result: ImportResult | None) -> None:
        if result is None:
            return
        suggested = default_dir() / f"{Path(result.file).stem}-导入问题清单.xlsx"
        name, _ = QFileDialog.getSaveFileName(self, "保存问题清单", str(suggested), "Excel 工作簿 (*.xlsx)")
        if not name:
            return
        try:
            result.report = importer.write_report(result, Path(name))
        except OSError as exc:
            tasks.show_error(self, DomainError(f"无法保存问题清单：{exc}"))
            return
        tasks.show_message(self, f"问题清单已保存：{name}", "保存")


# -- page 1: the file ------------------------------------------------------------------------------


class FilePage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.w = wizard
        self.busy = False
        self.setTitle("第 1 步：选择台账文件")
        self.setSubTitle("支持 .xlsx、.xls（WPS/Excel）和 .csv（UTF-8 或 GBK 编码）。表头可以在标题行之下，"
                         "可以是两行合并表头；每个工作表（如每村一表、每月一表）分别识别。")
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("请选择要导入的台账文件")
        browse = QPushButton("浏览…")
        browse.clicked.connect(self.browse)
        self.mapping_edit = QLineEdit()
        self.mapping_edit.setReadOnly(True)
        self.mapping_edit.setPlaceholderText("（可选）以前保存的列对应关系")
        load_mapping = QPushButton("载入…")
        load_mapping.clicked.connect(self.browse_mapping)
        clear_mapping = QPushButton("清除")
        clear_mapping.clicked.connect(self.clear_mapping)
        self.sheets = QListWidget()
        self.sheets.itemChanged.connect(lambda _item: self.completeChanged.emit())
        self.status = QLabel()
        self.status.setWordWrap(True)
        grid = QGridLayout()
        grid.addWidget(QLabel("台账文件："), 0, 0)
        grid.addWidget(self.path_edit, 0, 1)
        grid.addWidget(browse, 0, 2)
        grid.addWidget(QLabel("列对应关系："), 1, 0)
        grid.addWidget(self.mapping_edit, 1, 1)
        row = QHBoxLayout()
        row.addWidget(load_mapping)
        row.addWidget(clear_mapping)
        grid.addLayout(row, 1, 2)
        layout = QVBoxLayout(self)
        if not wizard.ctx.can("import"):
            warn = QLabel("当前用户没有“导入台账”权限（需要登记员或管理员角色）。")
            warn.setStyleSheet("color: #c62828;")
            layout.addWidget(warn)
        layout.addLayout(grid)
        layout.addWidget(QLabel("要导入的工作表："))
        layout.addWidget(self.sheets, 1)
        layout.addWidget(self.status)

    def browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "选择台账文件", str(default_dir()), FILE_FILTER)
        if name:
            self.open_file(Path(name))

    def browse_mapping(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "载入列对应关系", str(default_dir()), MAPPING_FILTER)
        if not name:
            return
        try:
            self.w.options.mapping = ImportMapping.load(Path(name))
        except DomainError as exc:
            tasks.show_error(self, exc)
            return
        self.w.mapping_path = Path(name)
        self.mapping_edit.setText(name)
        if self.w.path is not None:
            self.open_file(self.w.path)

    def clear_mapping(self) -> None:
        self.w.options.mapping = ImportMapping()
        self.w.mapping_path = None
        self.mapping_edit.clear()
        if self.w.path is not None:
            self.open_file(self.w.path)

    def open_file(self, path: Path) -> None:
        """Read the file in the background and list its sheets with what was found."""
        self.w.path = path
        self.w.analysis = None
        self.path_edit.setText(str(path))
        self.sheets.clear()
        self.status.setText("正在读取文件…")
        self.busy = True
        self.completeChanged.emit()
        options = ImportOptions(mapping=self.w.options.mapping)
        tasks.run(lambda control: importer.analyse(path, options), title="正在读取台账文件", parent=self,
                  on_done=self._analysed, on_error=self._failed)

    def _analysed(self, analysis: Analysis) -> None:
        self.busy = False
        self.w.analysis = analysis
        self.sheets.blockSignals(True)
        for plan in analysis.plans:
            item = QListWidgetItem(f"{plan.name}　—　表头在第 {plan.header.excel_row} 行"
                                   f"{'（两行表头）' if plan.header.height == 2 else ''}，数据约 {len(plan.rows())} 行")
            item.setData(Qt.ItemDataRole.UserRole, plan.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.sheets.addItem(item)
        for name, why in analysis.skipped:
            item = QListWidgetItem(f"{name}　—　不导入：{why}")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.sheets.addItem(item)
        self.sheets.blockSignals(False)
        self.status.setText(f"找到 {len(analysis.plans)} 个可导入的工作表。")
        self.completeChanged.emit()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.status.setText(f"<span style='color:#c62828'>{exc}</span>")
        self.completeChanged.emit()

    def chosen(self) -> list[str]:
        out = []
        for i in range(self.sheets.count()):
            item = self.sheets.item(i)
            name = item.data(Qt.ItemDataRole.UserRole)
            if name and item.checkState() == Qt.CheckState.Checked:
                out.append(str(name))
        return out

    def isComplete(self) -> bool:
        return (not self.busy and self.w.analysis is not None and bool(self.chosen())
                and self.w.ctx.can("import"))

    def validatePage(self) -> bool:
        analysis = self.w.selected_analysis()
        chosen = self.chosen()
        analysis.plans = [p for p in analysis.plans if p.name in chosen]
        self.w.options.sheets = chosen
        return True


# -- page 2: columns -------------------------------------------------------------------------------


class MappingPage(QWizardPage):
    COLUMNS = ["工作表", "列", "表头", "示例", "导入为"]

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("第 2 步：核对列对应关系")
        self.setSubTitle("程序已按列名猜出每列的内容，请核对“导入为”一栏，不需要的列选“不导入”。"
                         "诉求内容、诉求类型、受理日期三项必需。")
        self.table = _table(self.COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.combos: list[tuple[str, QComboBox]] = []
        self.default_type = QComboBox()
        self.default_type.addItem("（不指定，类型为空的行作为错误）", "")
        for t in DemandType:
            self.default_type.addItem(t.label, t.label)
        self.default_type.currentIndexChanged.connect(self._changed)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828;")
        save = QPushButton("保存列对应关系…")
        save.clicked.connect(self._save)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("诉求类型为空或缺少类型列时按："))
        bottom.addWidget(self.default_type)
        bottom.addStretch(1)
        bottom.addWidget(save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.problem)

    def initializePage(self) -> None:
        analysis = self.w.selected_analysis()
        self.table.setRowCount(0)
        self.combos.clear()
        seen: set[str] = set()
        for plan in analysis.plans:
            for c, label in enumerate(plan.header.labels):
                if not label or label in seen:
                    continue
                seen.add(label)
                r = self.table.rowCount()
                self.table.insertRow(r)
                self.table.setItem(r, 0, _item(plan.name))
                self.table.setItem(r, 1, _item(column_letter(c)))
                self.table.setItem(r, 2, _item(label))
                self.table.setItem(r, 3, _item("；".join(plan.samples(c))))
                combo = QComboBox()
                combo.addItem("（不导入）", IGNORE)
                for spec in FIELDS:
                    combo.addItem(spec.title, spec.key)
                current = plan.columns.get(c, IGNORE)
                combo.setCurrentIndex(max(combo.findData(current), 0))
                combo.currentIndexChanged.connect(self._changed)
                self.table.setCellWidget(r, 4, combo)
                self.combos.append((label, combo))
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(3, min(self.table.columnWidth(3), 360))
        default = self.w.options.mapping.defaults.get("type", "")
        self.default_type.setCurrentIndex(max(self.default_type.findData(default), 0))
        self._changed()

    def _collect(self) -> ImportMapping:
        mapping = self.w.options.mapping
        mapping.columns = {label: str(combo.currentData()) for label, combo in self.combos}
        default = str(self.default_type.currentData() or "")
        if default:
            mapping.defaults["type"] = default
        else:
            mapping.defaults.pop("type", None)
        return mapping

    def _changed(self, *_: Any) -> None:
        mapping = self._collect()
        chosen = [str(combo.currentData()) for _, combo in self.combos if combo.currentData()]
        twice = sorted({k for k in chosen if chosen.count(k) > 1})
        missing = [k for k in REQUIRED if k not in chosen and not (k == "type" and mapping.defaults.get("type"))]
        titles = {s.key: s.title for s in FIELDS}
        text = []
        if missing:
            text.append("缺少必需的列：" + "、".join(titles[k] for k in missing))
        if twice:
            text.append("以下字段选了不止一列，只导入第一列：" + "、".join(titles[k] for k in twice))
        self.problem.setText("；".join(text))
        self.completeChanged.emit()

    def _save(self) -> None:
        self._collect()
        self.w.save_mapping()

    def isComplete(self) -> bool:
        mapping = self.w.options.mapping
        chosen = {str(combo.currentData()) for _, combo in self.combos}
        return all(k in chosen or (k == "type" and mapping.defaults.get("type")) for k in REQUIRED)

    def validatePage(self) -> bool:
        importer.remap(self.w.selected_analysis(), self._collect())
        return True


# -- page 3: dry run -------------------------------------------------------------------------------


class CheckPage(QWizardPage):
    UNKNOWN_COLUMNS = ["类别", "名录中没有的值", "行数", "处理"]
    ISSUE_COLUMNS = ["级别", "工作表", "行", "列", "值", "原因"]

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.w = wizard
        self.busy = False
        self.setTitle("第 3 步：预检")
        self.setSubTitle("先检查全部数据，不写入数据库。名录中没有的村(社区)、责任单位、类别和来源，"
                         "可对应到已有条目、新建或留空；改动后请点“重新检查”。")
        self.setCommitPage(True)
        self.counts = QLabel()
        self.counts.setStyleSheet("font-size: 14px; font-weight: bold;")
        self.unknowns = _table(self.UNKNOWN_COLUMNS)
        self.unknowns.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.unknowns.horizontalHeader().setStretchLastSection(False)
        self.issues = _table(self.ISSUE_COLUMNS)
        self.issues_note = QLabel()
        recheck = QPushButton("重新检查")
        recheck.clicked.connect(self.run_check)
        report = QPushButton("保存问题清单…")
        report.clicked.connect(lambda: self.w.save_report(self.w.preview))
        save_mapping = QPushButton("保存对应关系…")
        save_mapping.clicked.connect(self.w.save_mapping)
        self.all_or_nothing = QRadioButton("全部正确才导入：有任何错误时不写入任何数据（推荐）")
        self.skip_invalid = QRadioButton("跳过有错误的行，只导入正确的行（错误行列入问题清单）")
        self.all_or_nothing.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.all_or_nothing)
        group.addButton(self.skip_invalid)
        self.all_or_nothing.toggled.connect(lambda _on: self.completeChanged.emit())
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(recheck)
        buttons.addWidget(save_mapping)
        buttons.addWidget(report)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(QLabel("名录中没有的值："))
        layout.addWidget(self.unknowns, 2)
        layout.addWidget(QLabel("发现的问题："))
        layout.addWidget(self.issues, 3)
        layout.addWidget(self.issues_note)
        layout.addLayout(buttons)
        layout.addWidget(self.all_or_nothing)
        layout.addWidget(self.skip_invalid)
        layout.addWidget(self.hint)

    def initializePage(self) -> None:
        self.run_check()

    def run_check(self) -> None:
        self.busy = True
        self.completeChanged.emit()
        self.counts.setText("正在检查…")
        db, path, options, analysis = self.w.ctx.db, self.w.path, self.w.options, self.w.selected_analysis()
        assert path is not None

        def work(control: tasks.TaskControl) -> tuple[ImportResult, ListNames]:
            result = importer.run(db, path, options, dry_run=True, analysis=analysis, progress=control.progress)
            with db.read() as session:
                names = load_names(session)
            return result, names

        tasks.run(work, title="正在检查台账数据", parent=self, on_done=self._checked, on_error=self._failed,
                  on_cancel=lambda: self._failed(DomainError("已取消检查")))

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.w.preview = None
        self.counts.setText(f"<span style='color:#c62828'>检查未完成：{exc}</span>")
        self.completeChanged.emit()

    def _checked(self, outcome: tuple[ImportResult, ListNames]) -> None:
        result, names = outcome
        self.busy = False
        self.w.preview, self.w.names = result, names
        self.counts.setText(f"读取 {result.read} 行　可导入 {result.to_import} 条　重复 {result.duplicates} 条　"
                            f"错误 {result.errors} 行　提示 {result.warnings} 条")
        self._fill_unknowns(result)
        self._fill_issues(result)
        self.completeChanged.emit()

    def _fill_unknowns(self, result: ImportResult) -> None:
        self.unknowns.setRowCount(0)
        for u in result.unknowns:
            r = self.unknowns.rowCount()
            self.unknowns.insertRow(r)
            self.unknowns.setItem(r, 0, _item(u.kind_title))
            self.unknowns.setItem(r, 1, _item(u.value))
            self.unknowns.setItem(r, 2, _item(u.rows))
            combo = self._choice_combo(u)
            combo.currentIndexChanged.connect(lambda _i, kind=u.kind, value=u.value, c=combo: self._chosen(kind, value, c))
            self.unknowns.setCellWidget(r, 3, combo)
        self.unknowns.resizeColumnsToContents()

    def _choice_combo(self, u: importer.Unknown) -> QComboBox:
        combo = QComboBox()
        if u.kind == "unit":
            for level in Level:
                combo.addItem(f"新建（{level.label}级）", ValueChoice("create", level=level.value))
        elif u.kind in ("village", "category", "channel"):
            combo.addItem("新建", ValueChoice("create"))
        combo.addItem("留空（不记录）", ValueChoice("empty"))
        for name in self.w.names.of(u.kind):
            combo.addItem(f"对应到：{name}", ValueChoice("map", to=name))
        # Show what will be done now.
        for i in range(combo.count()):
            c: ValueChoice = combo.itemData(i)
            same = c.action == u.action and (c.action != "map" or c.to == u.to) and \
                (u.kind != "unit" or c.action != "create" or c.level == (u.level or Level.TOWNSHIP.value))
            if same:
                combo.setCurrentIndex(i)
                break
        if u.action == "empty" and u.suggestion:
            hint = combo.findText(f"对应到：{u.suggestion}")
            if hint >= 0:
                combo.setItemText(hint, f"对应到：{u.suggestion}（建议）")
        return combo

    def _chosen(self, kind: str, value: str, combo: QComboBox) -> None:
        self.w.options.mapping.set_choice(kind, value, combo.currentData())
        self.hint.setText("对应关系已改动，请点“重新检查”后再导入。")
        self.w.preview = None
        self.completeChanged.emit()

    def _fill_issues(self, result: ImportResult) -> None:
        self.issues.setRowCount(0)
        shown = result.issues[:MAX_ISSUES_SHOWN]
        self.issues.setRowCount(len(shown))
        for r, issue in enumerate(shown):
            for c, value in enumerate((issue.level_title, issue.sheet, issue.row or "", issue.column, issue.value,
                                       issue.reason)):
                item = _item(value)
                if issue.level == importer.ERROR:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.issues.setItem(r, c, item)
        self.issues.resizeColumnsToContents()
        more = len(result.issues) - len(shown)
        self.issues_note.setText(f"另有 {more} 条未列出，请保存问题清单查看全部。" if more > 0 else "")

    def isComplete(self) -> bool:
        p = self.w.preview
        if self.busy or p is None:
            return False
        self.w.options.skip_invalid = self.skip_invalid.isChecked()
        if p.to_import == 0:
            self.hint.setText("没有需要导入的数据（全部为重复或有错误）。")
            return False
        if p.errors and not self.w.options.skip_invalid:
            self.hint.setText(f"有 {p.errors} 行错误：请改正文件后重新选择，或选择“跳过有错误的行”。")
            return False
        self.hint.setText(f"将导入 {p.to_import} 条诉求" + (f"，跳过 {p.errors} 行错误" if p.errors else "") + "。")
        return True


# -- page 4: the import ----------------------------------------------------------------------------


class RunPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.w = wizard
        self.task: tasks.Task | None = None
        self.finished = False
        self.setTitle("第 4 步：导入")
        self.bar = QProgressBar()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.cancel_button = QPushButton("取消导入")
        self.cancel_button.clicked.connect(self.cancel)
        self.report_button = QPushButton("保存问题清单…")
        self.report_button.clicked.connect(lambda: self.w.save_report(self.w.result))
        self.report_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.cancel_button)
        row.addWidget(self.report_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addLayout(row)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.finished = False
        self.bar.setRange(0, 0)
        self.label.setText("正在导入…（全部写入后才生效，取消则不写入任何数据）")
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.report_button.hide()
        db, path, options, analysis, user = (self.w.ctx.db, self.w.path, self.w.options, self.w.selected_analysis(),
                                             self.w.ctx.user)
        assert path is not None
        self.task = tasks.run(
            lambda control: importer.run(db, path, options, actor=user, analysis=analysis,
                                         progress=control.progress),
            title="正在导入台账", parent=self, on_done=self._done, on_error=self._failed,
            on_cancel=self._cancelled, write=True, progress=False)
        self.task.progressed.connect(self._progress)

    def _progress(self, done: int, total: int, text: str) -> None:
        self.bar.setRange(0, max(total, 0))
        self.bar.setValue(min(done, total) if total else 0)
        if text:
            self.label.setText(f"{text}：{done}/{total}")

    def cancel(self) -> None:
        if self.task is not None:
            self.cancel_button.setEnabled(False)
            self.label.setText("正在取消…")
            self.task.cancel()

    def _end(self, text: str) -> None:
        self.finished = True
        self.task = None
        self.cancel_button.hide()
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.label.setText(text)
        self.completeChanged.emit()

    def _done(self, result: ImportResult) -> None:
        self.w.result = result
        created = "；".join(f"新建{importer.VALUE_KINDS.get(k, k)} {len(v)} 个" for k, v in result.created.items())
        self._end(result.describe() + (f"；{created}" if created else "") + "。")
        if result.issues:
            self.report_button.show()
        if result.written:
            self.w.ctx.nav.data_changed.emit()

    def _failed(self, exc: BaseException) -> None:
        self._end(f"<span style='color:#c62828'>导入失败，未写入任何数据：{exc}</span>")
        if not isinstance(exc, DomainError):
            tasks.show_error(self, exc)

    def _cancelled(self) -> None:
        self._end("已取消导入，未写入任何数据。")

    def isComplete(self) -> bool:
        return self.finished

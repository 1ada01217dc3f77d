"""First start: create the township's database, or open the demo instead."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.db import Database
from app.errors import DomainError, ValidationError
from app.services import setup
from app.views import tasks
from app.vocab import Level, Role

VILLAGES_EXAMPLE = "柳树社区,511902104001,第一网格;第二网格\n兴文村,511902104002,一组网格;二组网格\n清江村"
UNITS_EXAMPLE = "综治中心\n规划建设办,乡镇\n区住建局,区"


@dataclass
class UnitSpec:
    name: str
    level: Level


def parse_units(text: str) -> list[UnitSpec]:
    """One unit a line: ``名称[,级别]``, level 村/乡镇/区/市 (default 乡镇)."""
    out: list[UnitSpec] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in re.split(r"[,\t，]", line)]
        try:
            level = Level.from_label(parts[1]) if len(parts) > 1 and parts[1] else Level.TOWNSHIP
        except ValueError:
            raise ValidationError("责任单位", f"第 {n} 行的级别“{parts[1]}”应为 村/乡镇/区/市") from None
        out.append(UnitSpec(parts[0], level))
    return out


@dataclass
class TownshipForm:
    name: str
    code: str
    villages: str
    units: str
    admin: str
    admin_name: str
    password: str
    confirm: str


def create_township(db: Database, form: TownshipForm) -> None:
    """Validate the form and create everything in one transaction (Qt-free)."""
    if not form.admin.strip():
        raise ValidationError("管理员用户名", "不能为空")
    if form.password != form.confirm:
        raise ValidationError("确认密码", "两次输入的密码不一致")
    villages = setup.parse_villages(form.villages)
    units = parse_units(form.units)
    with db.write() as s:
        setup.init_township(s, form.name.strip(), form.code.strip(), villages)
        for unit in units:
            setup.ensure_unit(s, unit.name, unit.level)
        setup.add_user(s, None, form.admin.strip(), form.admin_name.strip() or "管理员", [Role.ADMIN],
                       form.password, check=False)


class FirstStartDialog(QDialog):
    """``choice`` is "created" after the database was set up, "demo" when the demo was asked for."""

    def __init__(self, db: Database, parent: QWidget | None = None, demo_available: bool = True) -> None:
        super().__init__(parent)
        self.db = db
        self.choice = ""
        self.setWindowTitle("首次使用 — 快处台账")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "欢迎使用快处台账。请填写本乡镇(街道)的基本信息并创建第一个管理员账号；"
            "村(社区)、网格和责任单位以后也可在“设置”中修改。\n"
            "只想先看看？可以直接打开演示数据库。", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("如：宕梁街道")
        self.code = QLineEdit(self)
        self.code.setPlaceholderText("9 位或 12 位行政区划代码")
        self.villages = QPlainTextEdit(self)
        self.villages.setPlaceholderText("每行一个：名称[,代码[,网格1;网格2]]，例如\n" + VILLAGES_EXAMPLE)
        self.villages.setTabChangesFocus(True)
        self.units = QPlainTextEdit(self)
        self.units.setPlaceholderText("每行一个：名称[,级别(村/乡镇/区/市)]，例如\n" + UNITS_EXAMPLE)
        self.units.setTabChangesFocus(True)
        self.units.setMaximumHeight(100)
        self.admin = QLineEdit("admin", self)
        self.admin_name = QLineEdit(self)
        self.admin_name.setPlaceholderText("姓名")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit(self)
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("乡镇(街道)名称", self.name)
        form.addRow("区划代码", self.code)
        form.addRow("村(社区)与网格", self.villages)
        form.addRow("责任单位", self.units)
        form.addRow("管理员用户名", self.admin)
        form.addRow("管理员姓名", self.admin_name)
        form.addRow("密码", self.password)
        form.addRow("确认密码", self.confirm)
        layout.addLayout(form)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #cf1322;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.demo_button = QPushButton("打开演示数据库", self)
        self.demo_button.setVisible(demo_available)
        self.demo_button.clicked.connect(self.choose_demo)
        self.create_button = QPushButton("创建数据库", self)
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create)
        quit_button = QPushButton("退出", self)
        quit_button.clicked.connect(self.reject)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        buttons.addWidget(quit_button)
        layout.addLayout(buttons)
        self.name.setFocus(Qt.FocusReason.OtherFocusReason)

    def form(self) -> TownshipForm:
        return TownshipForm(self.name.text(), self.code.text(), self.villages.toPlainText(),
                            self.units.toPlainText(), self.admin.text(), self.admin_name.text(),
                            self.password.text(), self.confirm.text())

    def create(self) -> None:
        form = self.form()
        self.create_button.setEnabled(False)
        self.error.hide()

        def done(_: object) -> None:
            self.choice = "created"
            self.accept()

        def failed(exc: BaseException) -> None:
            self.create_button.setEnabled(True)
            if isinstance(exc, DomainError):
                self.error.setText(str(exc))
                self.error.show()
            else:
                tasks.show_error(self, exc)

        tasks.run(lambda control: create_township(self.db, form), title="正在创建数据库", parent=self,
                  on_done=done, on_error=failed, write=True, cancellable=False)

    def choose_demo(self) -> None:
        self.choice = "demo"
        self.accept()

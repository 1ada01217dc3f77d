"""The login dialog: user name and password, checked by the setup service."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.db import Database
from app.errors import DomainError
from app.models import User
from app.services import setup


class LoginDialog(QDialog):
    """Accepted once a user has given a right password; ``user`` is then that user."""

    def __init__(self, db: Database, parent: QWidget | None = None, hint: str = "", title: str = "") -> None:
        super().__init__(parent)
        self.db = db
        self.user: User | None = None
        self.setWindowTitle("登录 — 快处台账")
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        heading = QLabel(title or "群众诉求快处中心 · 快处台账", self)
        heading.setStyleSheet("font-size: 16px; font-weight: bold; padding: 6px 0;")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(heading)
        form = QFormLayout()
        self.username = QLineEdit(self)
        self.username.setObjectName("username")
        self.password = QLineEdit(self)
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("用户名", self.username)
        form.addRow("密码", self.password)
        layout.addLayout(form)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #cf1322;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        if hint:
            tip = QLabel(hint, self)
            tip.setWordWrap(True)
            tip.setStyleSheet("color: #595959;")
            layout.addWidget(tip)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("登录")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("退出")
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        last = QSettings().value("login/username", "")
        self.username.setText(str(last or ""))
        (self.password if last else self.username).setFocus()

    def try_login(self) -> bool:
        name, password = self.username.text().strip(), self.password.text()
        if not name:
            return self._fail("请输入用户名")
        try:
            with self.db.read() as s:
                self.user = setup.authenticate(s, name, password)
        except DomainError as exc:
            self.password.clear()
            self.password.setFocus()
            return self._fail(str(exc))
        QSettings().setValue("login/username", name)
        self.accept()
        return True

    def _fail(self, message: str) -> bool:
        self.error.setText(message)
        self.error.show()
        return False

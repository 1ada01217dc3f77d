"""Helpers for the ledger and detail GUI tests (kept apart from conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QSpinBox,
)

from app.models import User
from app.views import tasks
from app.views.context import AppContext


def isolated_qsettings(tmp_path: Path) -> Iterator[Path]:
    """QSettings as an INI file in this test's directory (never the user's own).

    Use from an autouse fixture of a test module (``yield from isolated_qsettings(tmp_path)``);
    waits at the end for background tasks the test started.
    """
    folder = tmp_path / "qsettings"
    folder.mkdir()
    QCoreApplication.setOrganizationName("kuaichu-tests")
    QCoreApplication.setApplicationName("kuaichu-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    tasks.wait_all()


def context_for(led: Any, username: str, files_dir: Path) -> AppContext:
    """An AppContext for one of the conftest users (by user name)."""
    with led.db.read() as s:
        user = s.scalars(sa.select(User).where(User.username == username)).one()
    files_dir.mkdir(parents=True, exist_ok=True)
    return AppContext(db=led.db, user=user, files_dir=files_dir)


def fill(form: Any, values: dict[str, Any]) -> None:
    """Set an ActionForm's widgets by field name: text, choice by data or text, dates, checks."""
    for name, value in values.items():
        w = form.widget(name)
        if isinstance(w, QPlainTextEdit):
            w.setPlainText(str(value))
        elif isinstance(w, QComboBox):
            at = w.findData(value)
            if at < 0:
                at = w.findText(str(value))
            assert at >= 0, f"{name}: no option {value!r}"
            w.setCurrentIndex(at)
        elif isinstance(w, QListWidget):
            from PySide6.QtCore import Qt

            for i in range(w.count()):
                item = w.item(i)
                on = item.data(Qt.ItemDataRole.UserRole) in value
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        elif isinstance(w, QDateEdit):
            from PySide6.QtCore import QDate

            w.setDate(QDate(value))
        elif isinstance(w, QSpinBox):
            w.setValue(int(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QLineEdit):
            w.setText(str(value))
        else:  # pragma: no cover - a new widget kind
            raise TypeError(name)

"""Screens' read-only refreshes off the GUI thread, through the program's one task runner.

A screen owns one ``BackgroundReader``; ``start(fn)`` runs ``fn(session)`` in a read
session via ``app.views.tasks.run`` and emits ``finished(result)`` or ``failed(message)``
on the main thread. Only the latest request's answer is delivered, so a screen refreshed
twice never shows the older one. ``fn`` must return plain data, not ORM objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QShowEvent
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import DomainError
from app.views import tasks


class BackgroundReader(QObject):
    """Runs read-only work on the task runner; ``finished``/``failed`` arrive on the main thread."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, db: Database, parent: QObject | None = None, title: str = "正在读取数据") -> None:
        super().__init__(parent)
        self.db = db
        self.title = title
        self._ticket = 0
        self._pending = 0

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def start(self, fn: Callable[[Session], Any]) -> None:
        self._ticket += 1
        self._pending += 1
        ticket = self._ticket
        db = self.db

        def work(_control: tasks.TaskControl) -> Any:
            with db.read() as session:
                return fn(session)

        def done(result: Any) -> None:
            if shiboken6.isValid(self):
                self._pending -= 1
                if ticket == self._ticket:
                    self.finished.emit(result)

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                self._pending -= 1
                if ticket == self._ticket:
                    text = str(exc) if isinstance(exc, DomainError) else f"读取数据出错：{exc}"
                    self.failed.emit(text)

        tasks.run(work, title=self.title, on_done=done, on_error=failed, on_cancel=lambda: failed(
            DomainError("已取消")), progress=False)


class RefreshOnShow:
    """Mixin for screens that follow the data: refresh at once when visible, else when next shown.

    The screen sets ``self._stale = False`` when it starts a refresh and connects
    ``ctx.nav.data_changed`` to ``_on_data_changed``.
    """

    _stale = True
    refresh: Callable[[], None]  # each screen defines its own

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)  # type: ignore[misc]
        if self._stale:
            self.refresh()

    def _on_data_changed(self) -> None:
        if self.isVisible():  # type: ignore[attr-defined]
            self.refresh()
        else:
            self._stale = True

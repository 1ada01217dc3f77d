"""Running work off the GUI thread.

``run(fn, ...)`` calls ``fn(control)`` on a worker thread and delivers its result or its
error as signals on the main thread. ``fn`` reports progress with ``control.progress(done,
total, text)``, which also raises ``Cancelled`` once the user pressed 取消. A progress dialog
appears only when the work lasts longer than ``PROGRESS_DELAY_MS``. Reads run on a small
pool; writes (``write=True``) run one at a time on their own worker, in the order asked.

Errors not handled by the caller are shown in a message box: a ``DomainError`` with its
own (Chinese) message, anything else as an unexpected error written to the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from app.errors import DomainError

log = logging.getLogger(__name__)
PROGRESS_DELAY_MS = 500


class Cancelled(Exception):
    """Raised inside a task when the user cancelled it."""


class TaskControl:
    """What the work function gets: progress reporting and the cancel flag."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """Report progress (``total`` 0 = unknown); raises ``Cancelled`` when cancelled."""
        self.check()
        try:
            self._task.progressed.emit(int(done), int(total), text)
        except RuntimeError:  # the Task's Qt object is gone: treat as cancelled
            raise Cancelled() from None


class Task(QObject):
    """One running piece of work. Its signals arrive on the main thread."""

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self.control = TaskControl(self)
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self.control.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.control.cancelled


class _Runnable(QRunnable):
    def __init__(self, task: Task, fn: Callable[[TaskControl], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task = task
        self._fn = fn

    def run(self) -> None:
        task = self._task
        try:
            try:
                task.control.check()
                result = self._fn(task.control)
            except Cancelled:
                task.cancelled.emit()
            except BaseException as exc:  # delivered to the main thread, shown or handled there
                if not isinstance(exc, DomainError):
                    log.exception("background task %r failed", task.title)
                task.failed.emit(exc)
            else:
                task.succeeded.emit(result)
            task.finished.emit()
        except RuntimeError:
            # The Task's Qt object is gone (the program is closing): nobody is listening.
            log.debug("background task %r ended after its receiver was deleted", task.title)


class _Pools:
    def __init__(self) -> None:
        self.read = QThreadPool()
        self.read.setMaxThreadCount(3)
        self.write = QThreadPool()
        self.write.setMaxThreadCount(1)


_pools: _Pools | None = None
_running: set[Task] = set()  # keeps each Task alive until its signals have been delivered


def _get_pools() -> _Pools:
    global _pools
    if _pools is None:
        _pools = _Pools()
    return _pools


def show_error(parent: QWidget | None, exc: BaseException, title: str = "操作未完成") -> QMessageBox:
    """A non-blocking message box for an error (Chinese text)."""
    if isinstance(exc, DomainError):
        text, icon = str(exc), QMessageBox.Icon.Warning
    else:
        text = f"发生意外错误：{type(exc).__name__}: {exc}\n详细信息已写入日志文件。"
        icon = QMessageBox.Icon.Critical
    return show_message(parent, text, title, icon)


def show_message(parent: QWidget | None, text: str, title: str = "提示",
                 icon: QMessageBox.Icon = QMessageBox.Icon.Information) -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.button(QMessageBox.StandardButton.Ok).setText("确定")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal if parent else Qt.WindowModality.ApplicationModal)
    box.open()
    return box


def run(
    fn: Callable[[TaskControl], Any],
    *,
    title: str = "正在处理",
    parent: QWidget | None = None,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_cancel: Callable[[], None] | None = None,
    write: bool = False,
    progress: bool = True,
    cancellable: bool = True,
) -> Task:
    """Run ``fn(control)`` off the GUI thread; callbacks run on the main thread.

    Without ``on_error`` an error is shown in a message box over ``parent``. With
    ``progress`` a dialog titled ``title`` appears if the work takes over half a second.
    Pass callbacks rather than connecting to the returned Task's signals afterwards: quick
    work may already have finished by then.
    """
    task = Task(title)
    _running.add(task)
    dialog: list[QProgressDialog] = []

    def show_progress() -> None:
        if task.done:
            return
        dlg = QProgressDialog(title, "取消" if cancellable else "", 0, 0, parent)
        dlg.setWindowTitle("请稍候")
        dlg.setWindowModality(Qt.WindowModality.WindowModal if parent else Qt.WindowModality.ApplicationModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        if not cancellable:
            dlg.setCancelButton(None)
        dlg.canceled.connect(task.cancel)
        dlg.show()
        dialog.append(dlg)

    def on_progress(done: int, total: int, text: str) -> None:
        if dialog:
            dlg = dialog[0]
            dlg.setMaximum(max(total, 0))
            dlg.setValue(min(done, total) if total else 0)
            if text:
                dlg.setLabelText(f"{title}\n{text}")

    def finish() -> None:
        if task.done:
            return
        task.done = True
        if dialog:
            dialog[0].close()
            dialog[0].deleteLater()
        _running.discard(task)

    def succeeded(result: Any) -> None:
        finish()
        task.result = result
        if on_done is not None:
            on_done(result)

    def failed(exc: BaseException) -> None:
        finish()
        task.error = exc
        if on_error is not None:
            on_error(exc)
        else:
            show_error(parent, exc)

    def was_cancelled() -> None:
        finish()
        if on_cancel is not None:
            on_cancel()

    task.finished.connect(finish)
    task.progressed.connect(on_progress)
    task.succeeded.connect(succeeded)
    task.failed.connect(failed)
    task.cancelled.connect(was_cancelled)
    if progress:
        QTimer.singleShot(PROGRESS_DELAY_MS, task, show_progress)
    pools = _get_pools()
    (pools.write if write else pools.read).start(_Runnable(task, fn))
    return task


def running() -> int:
    return len(_running)


def wait_all(msecs: int = 30_000) -> bool:
    """Wait for every task's work to end (at shutdown and in tests); True when all ended."""
    if _pools is None:
        return True
    return _pools.read.waitForDone(msecs) and _pools.write.waitForDone(msecs)

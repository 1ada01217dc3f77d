"""Entry point of the desktop program.

Start order: paths → logging → database and migrations → QApplication → font → first
start (wizard or demo) → login → main window. Nothing happens at import time.
"""

from __future__ import annotations

import logging
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from app import APP_NAME, __version__, paths
from app.db import Database, open_database

log = logging.getLogger(__name__)
LOG_FILE = "kuaichu.log"
DEMO_FILE = "demo.sqlite"
DEMO_DEMANDS = 600
DEMO_HINT = ("演示数据库账号（密码均为 demo）：dengji 登记员、banli 办理人、fenguan 分管领导、"
             "zhuyao 主要领导、duban 督办、admin 管理员、zhuren 中心主任(登记员+办理人+管理员)")


def setup_logging(data_dir: Path) -> Path:
    """Log to a rotating file in the data directory (and warnings to stderr)."""
    log_file = data_dir / LOG_FILE
    handler = RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return log_file


def needs_setup(db: Database) -> bool:
    from app.errors import NotFound
    from app.services import setup

    with db.read() as s:
        try:
            setup.township(s)
        except NotFound:
            return True
    return False


def configure_qt(app, data_dir: Path) -> str | None:  # type: ignore[no-untyped-def]
    """Names, QSettings as an INI file in the data directory, and a CJK font."""
    from PySide6.QtCore import QSettings

    from app.views.fonts import apply_font

    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("快处台账")
    app.setApplicationVersion(__version__)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(data_dir))
    install_chinese(app)
    return apply_font(app)


def install_chinese(app) -> bool:  # type: ignore[no-untyped-def]
    """Qt's own texts in Chinese: standard buttons (确定/取消/关闭), the file dialogs, the
    context menus of text boxes, the calendar popups. True when Qt's translation was found."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    chinese = QLocale(QLocale.Language.Chinese, QLocale.Country.China)
    QLocale.setDefault(chinese)
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load(chinese, "qtbase", "_", folder):
        log.warning("Qt's Chinese translation (qtbase_zh_CN.qm) not found in %s", folder)
        return False
    app.installTranslator(translator)
    return True


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    log.error("unhandled exception\n%s", "".join(traceback.format_exception(kind, exc, tb)))
    from PySide6.QtWidgets import QApplication

    from app.views.tasks import show_error

    if QApplication.instance() is not None:
        show_error(None, exc, "程序错误")


def open_demo(data_dir: Path) -> Database | None:
    """The demo database in the data directory, generated (with a progress dialog) if needed."""
    from PySide6.QtCore import QEventLoop

    from app.views import tasks

    target = data_dir / DEMO_FILE
    if target.exists():
        db = open_database(str(target))
        if not needs_setup(db):
            return db
        db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    try:
        from app.services.demo import DemoSpec, generate
    except ImportError:
        return None
    db = open_database(str(target))
    loop = QEventLoop()
    outcome: list[bool] = []

    def done(_: object) -> None:
        outcome.append(True)
        loop.quit()

    def failed(exc: BaseException) -> None:
        outcome.append(False)
        tasks.show_error(None, exc, "生成演示数据失败")
        loop.quit()

    tasks.run(lambda control: generate(db, DemoSpec(demands=DEMO_DEMANDS)), title="正在生成演示数据库…",
              on_done=done, on_error=failed, write=True, cancellable=False)
    loop.exec()
    return db if outcome and outcome[0] else None


def run_gui(db_target: str | None) -> int:
    data_dir = paths.data_dir()
    log_file = setup_logging(data_dir)
    log.info("kuaichu %s starting; log %s", __version__, log_file)
    sys.excepthook = _excepthook
    error = ""
    db: Database | None = None
    try:
        db = open_database(db_target)
    except Exception as exc:
        log.exception("opening the database failed")
        error = f"无法打开数据库：{exc}\n\n详细信息见日志 {log_file}"

    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    app = QApplication.instance() or QApplication(sys.argv)
    configure_qt(app, data_dir)
    if db is None:
        QMessageBox.critical(None, "快处台账", error)
        return 2

    from app.views import tasks
    from app.views.context import AppContext
    from app.views.login import LoginDialog
    from app.views.main_window import MainWindow
    from app.views.wizard import FirstStartDialog

    hint = ""
    if needs_setup(db):
        wizard = FirstStartDialog(db)
        if wizard.exec() != QDialog.DialogCode.Accepted:
            return 0
        if wizard.choice == "demo":
            demo = open_demo(data_dir)
            if demo is None:
                QMessageBox.warning(None, "快处台账", "无法生成演示数据库，详细信息见日志。")
                return 1
            db.dispose()
            db, hint = demo, DEMO_HINT
    elif paths.sqlite_path(db.url) == data_dir / DEMO_FILE:
        hint = DEMO_HINT

    login = LoginDialog(db, hint=hint)
    if login.exec() != QDialog.DialogCode.Accepted or login.user is None:
        return 0
    ctx = AppContext(db=db, user=login.user, files_dir=paths.attachments_dir(db.url))
    window = MainWindow(ctx)
    window.show()
    tasks.run(lambda _control: db.daily_backup(paths.backups_dir(db.url)), title="每日备份",
              on_error=lambda exc: log.warning("daily backup failed: %s", exc), progress=False)
    code = app.exec()
    tasks.wait_all()
    db.dispose()
    log.info("kuaichu closed")
    return code

"""``kuaichu [--db D] screenshots DIR``: each main screen rendered offscreen to a PNG file.

Logs in (without a password: the images show the screens, not the login) as the active
user holding the most roles, 管理员 preferred on a tie, so every action the screens offer
is visible; opens the main window on the database and saves, in this order: the login
dialog, 工作台, 受理登记, 诉求台账, one demand's detail, 一村一档, 预警督办 and 设置.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from app.services import showcase
from app.views.context import AppContext

WINDOW_SIZE = (1360, 860)
SHOTS = (
    ("01-login", "登录"),
    ("02-dashboard", "工作台"),
    ("03-intake", "受理登记"),
    ("04-ledger", "诉求台账"),
    ("05-detail", "诉求详情"),
    ("06-villages", "一村一档"),
    ("07-warnings", "预警督办"),
    ("08-settings", "设置"),
)


def _wait_idle(timeout: float = 30.0, settle: int = 8) -> None:
    """Let background reads finish and the screens paint what they brought."""
    from PySide6.QtCore import QEventLoop

    from app.views import tasks

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if tasks.running() == 0:
            break
        tasks.wait_all(50)
    for _ in range(settle):
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def render_screenshots(db_target: str | None, out_dir: Path | str) -> list[Path]:
    """Render each main screen of the database at ``db_target`` to PNG files in ``out_dir``.

    Runs offscreen (no display needed). Returns the files written, in screen order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings

    if QApplication.instance() is None:
        # Our own application: offscreen, a CJK font, and a throwaway settings folder so the
        # user's window layouts stay untouched. Inside a running program (or the tests) the
        # host's settings and font are kept.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication(["kuaichu-screenshots"])
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                          tempfile.mkdtemp(prefix="kuaichu-shots-"))
        from app.views.fonts import apply_font

        apply_font(app)

    from app import paths
    from app.db import open_database

    db = open_database(db_target)
    with db.read() as s:
        user = showcase.most_capable_user(s)
        demand_id = showcase.demand_with_a_story(s)
    ctx = AppContext(db, user, paths.attachments_dir(db.url))
    written: list[Path] = []

    def save(name: str, grab: Callable[[], QPixmap]) -> None:
        _wait_idle()
        target = out / f"{name}.png"
        if not grab().save(str(target)):
            raise OSError(f"无法写入 {target}")
        written.append(target)

    try:
        _render(ctx, save, demand_id)
    finally:
        from app.views import tasks

        tasks.wait_all()
        db.dispose()
    return written


def _render(ctx: AppContext, save: Callable[[str, Callable[[], QPixmap]], None], demand_id: int | None) -> None:
    from app.views.login import LoginDialog
    from app.views.main_window import MainWindow
    login = LoginDialog(ctx.db, hint="演示数据库：各角色账号见 README，密码均为 demo")
    login.username.setText(ctx.user.username)
    login.password.setText("demo")
    login.show()
    save("01-login", login.grab)
    login.close()

    window = MainWindow(ctx, "dashboard")
    window.resize(*WINDOW_SIZE)
    window.show()
    save("02-dashboard", window.grab)

    intake = window.show_page("intake")
    _fill_intake_example(ctx, intake)
    save("03-intake", window.grab)

    window.show_page("ledger")
    save("04-ledger", window.grab)

    if demand_id is not None:
        dialog = window.open_demand(demand_id)
        save("05-detail", dialog.grab)
        dialog.close()

    window.show_page("villages")
    save("06-villages", window.grab)

    warnings = window.show_page("warnings")
    save("07-warnings", lambda: _grab_warnings(warnings, window))

    settings = window.show_page("settings")
    _show_settings_tab(settings)
    save("08-settings", window.grab)
    window.close()


def _fill_intake_example(ctx: AppContext, intake: QWidget) -> None:
    """Type a returning petitioner into the form, so the shot shows the repeat warning."""
    from app.services import intake as intake_service
    from app.views.intake import IntakeView

    if not isinstance(intake, IntakeView):
        return
    with ctx.db.read() as s:
        pid = showcase.returning_petitioner(s)
        hit = intake_service.petitioner_hit(s, pid) if pid is not None else None
    intake.refresh()
    if hit is not None:
        intake.apply_petitioner(hit, overwrite=True)
    intake.type_combo.set_current_id(2)  # 求决
    intake.content_edit.setPlainText("门前排水沟再次堵塞，下雨积水漫进院坝，希望彻底疏通。")


def _grab_warnings(view: QWidget, window: QWidget) -> QPixmap:
    from app.views.warnings import WarningsView

    if isinstance(view, WarningsView) and view.data is not None and view.data.lists["overdue"].rows:
        view.select_demand("overdue", 0)
        view.note_edit.setText("请于 3 个工作日内办结并报送佐证材料")
    return window.grab()


def _show_settings_tab(view: QWidget) -> None:
    from app.views.settings_view import SettingsView

    if isinstance(view, SettingsView):
        view.tabs.setCurrentWidget(view.rules)

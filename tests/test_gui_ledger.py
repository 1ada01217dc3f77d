"""诉求台账: the lazy model, the filter bar, the text search (FTS5 and LIKE), sorting, opening."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog

from app.gui import needs_setup
from app.services import calendar, demands, queries, setup
from app.services.queries import DemandFilter
from app.views.context import AppContext
from app.views.ledger import COLUMN_INDEX, COLUMNS, LedgerModel, LedgerView
from app.views.login import LoginDialog
from app.views.main_window import PAGES, MainWindow, Page
from app.views.wizard import FirstStartDialog
from app.vocab import DemandType, Level, Status
from tests.gui_fixtures import context_for, isolated_qsettings


@pytest.fixture(autouse=True)
def _qsettings(qapp: Any, tmp_path: Path) -> Iterator[Path]:
    yield from isolated_qsettings(tmp_path)


TODAY = date.today()
WATER = "自来水管道破裂，家中停水三天"


@pytest.fixture
def filled(ledger: Any) -> Any:
    """About twenty demands: several villages, types, states, a repeat petitioner, overdue ones."""
    lights = [ledger.register("求决", TODAY - timedelta(days=i), "柳树村", content=f"村道路灯损坏，夜间出行不便（{i}号）")
              for i in range(8)]
    for i in range(5):
        ledger.register("咨询", TODAY - timedelta(days=2 * i), "河东社区", content="咨询城乡居民医保缴费政策")
    for i in range(4):
        ledger.register("投诉", date(2025, 3, 3) + timedelta(days=i), "青山村", name="张三",
                        phone="13912345678", content=WATER)
    for _ in range(3):
        ledger.register("建议", TODAY, "柳树村", name="李四喜", content="建议在广场增设健身器材")
    ledger.advance(lights[0], Status.HANDLING)
    ledger.advance(lights[1], Status.HANDLING)
    ledger.advance(lights[2], Status.EVALUATED, on=TODAY)
    return ledger


def count(led: Any, f: DemandFilter) -> int:
    with led.db.read() as s:
        return queries.count(s, f)


def make_view(qtbot: Any, led: Any, tmp_path: Path, user: str = "dengji", **kw: Any) -> LedgerView:
    view = LedgerView(context_for(led, user, tmp_path / "files"), **kw)
    qtbot.addWidget(view)
    view.resize(1400, 700)
    view.show()
    qtbot.waitUntil(lambda: view.model.has_loaded and not view.model.loading)
    return view


def change(qtbot: Any, view: LedgerView, action: Any) -> None:
    """Do something to the filter bar and wait for the new id list."""
    with qtbot.waitSignal(view.loaded, timeout=5000):
        action()


# -- the model itself ----------------------------------------------------------------------


def test_model_holds_ids_and_reads_rows_a_page_at_a_time(filled: Any) -> None:
    model = LedgerModel(filled.db)
    model.PAGE = 5
    model.set_query(DemandFilter(), background=False)
    total = count(filled, DemandFilter())
    assert model.rowCount() == total == 20
    assert model.columnCount() == len(COLUMNS)
    assert model.page_loads == 0  # nothing read but the ids

    code = model.data(model.index(12, COLUMN_INDEX["code"]))
    assert model.page_loads == 1 and model.cached_pages() == [2]
    with filled.db.read() as s:
        expected = queries.rows(s, DemandFilter(), sort="received", descending=True, offset=12, limit=1)[0]
    assert code == expected.code
    model.data(model.index(14, COLUMN_INDEX["village"]))  # same page: no read
    assert model.page_loads == 1
    model.data(model.index(0, 0))
    assert model.page_loads == 2 and sorted(model.cached_pages()) == [0, 2]


def test_model_countdown_is_coloured_and_marked(filled: Any) -> None:
    model = LedgerModel(filled.db)
    old = DemandFilter(overdue=True, village_ids=[filled.town.villages["青山村"]])  # received in 2025
    model.set_query(old, background=False)
    assert model.rowCount() == count(filled, old) == 4
    idx = model.index(0, COLUMN_INDEX["remaining"])
    assert model.data(idx).startswith("超期")
    assert model.data(idx, Qt.ItemDataRole.BackgroundRole).color().name() == "#ff8f8f"
    model.set_query(DemandFilter(open_only=True, received_from=TODAY), background=False)
    texts = {model.data(model.index(r, COLUMN_INDEX["remaining"])) for r in range(model.rowCount())}
    assert all(t and not t.startswith("超期") for t in texts)


def test_model_sorts_in_sql_for_every_column(filled: Any) -> None:
    model = LedgerModel(filled.db)
    for i, col in enumerate(COLUMNS):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.set_query(DemandFilter(), col.key, order == Qt.SortOrder.DescendingOrder, background=False)
            model.sort(i, order)  # already in this order: no second query needed
            with filled.db.read() as s:
                expected = queries.ids(s, DemandFilter(), sort=col.key,
                                       descending=order == Qt.SortOrder.DescendingOrder)
            assert [model.demand_id(r) for r in range(model.rowCount())] == expected


# -- the view --------------------------------------------------------------------------------


def test_ledger_shows_the_count_and_filters_narrow_it(qtbot: Any, filled: Any,
                                                      tmp_path: Path) -> None:
    view = make_view(qtbot, filled, tmp_path)
    assert view.count == 20 and view.count_label.text() == "共 20 件"

    change(qtbot, view, lambda: view.status_box.setCurrentIndex(view.status_box.findData(Status.HANDLING)))
    assert view.count == count(filled, DemandFilter(statuses=[Status.HANDLING])) == 2
    assert view.count_label.text() == "共 2 件"

    change(qtbot, view, view.clear_filters)
    assert view.count == 20
    change(qtbot, view, lambda: view.type_box.setCurrentIndex(view.type_box.findData(DemandType.CONSULT)))
    assert view.count == 5
    qingshan = filled.town.villages["青山村"]
    change(qtbot, view, lambda: view.type_box.setCurrentIndex(0))
    change(qtbot, view, lambda: view.village_box.setCurrentIndex(view.village_box.findData(qingshan)))
    assert view.count == 4
    change(qtbot, view, lambda: view.flag_boxes["repeat"].setChecked(True))
    assert view.count == count(filled, DemandFilter(village_ids=[qingshan], repeat=True)) == 3
    change(qtbot, view, view.clear_filters)
    change(qtbot, view, lambda: view.flag_boxes["overdue"].setChecked(True))
    assert view.count == count(filled, DemandFilter(overdue=True))
    change(qtbot, view, view.clear_filters)
    change(qtbot, view, lambda: view.date_check.setChecked(True))
    assert view.count == count(filled, DemandFilter(received_from=view.date_from.date().toPython(),
                                                    received_to=TODAY))
    assert 0 < view.count < 20


def test_text_search_uses_fts_for_three_characters_and_like_for_two(qtbot: Any,
                                                                    filled: Any, tmp_path: Path) -> None:
    with filled.db.read() as s:
        assert queries.has_fts(s)
        first_water = min(queries.ids(s, DemandFilter(text=WATER[:3])))
    view = make_view(qtbot, filled, tmp_path)

    change(qtbot, view, lambda: view.search.setText("自来水"))
    assert view.count == 4
    change(qtbot, view, lambda: view.search.setText("张三"))  # two characters: LIKE on the name
    assert view.count == 4
    change(qtbot, view, lambda: view.search.setText("12345678"))  # the phone
    assert view.count == 4
    change(qtbot, view, lambda: view.search.setText("李四喜 健身"))  # words are ANDed
    assert view.count == 3
    change(qtbot, view, lambda: view.search.setText(f"{filled.town.code}-2025"))  # case number
    assert view.count == 4

    # Take one demand out of the full-text index behind the program's back: a 3-character
    # search no longer finds it (so it went through FTS5), a 2-character one still does (LIKE).
    with filled.db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM demand_fts WHERE rowid = ?", (first_water,))
    change(qtbot, view, lambda: view.search.setText("自来水"))
    assert view.count == 3
    change(qtbot, view, lambda: view.search.setText("自来"))
    assert view.count == 4


def test_search_waits_for_typing_to_pause(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    view = make_view(qtbot, filled, tmp_path)
    queries_before = view.model._generation
    with qtbot.waitSignal(view.loaded, timeout=5000):
        for text in ("路", "路灯", "路灯损", "路灯损坏"):
            view.search.setText(text)
        assert view.model._generation == queries_before  # nothing asked yet: debounced
    assert view.model._generation == queries_before + 1
    assert view.count == 8


def test_the_index_follows_edits_of_demands_and_petitioners(qtbot: Any, filled: Any,
                                                          tmp_path: Path) -> None:
    code = filled.register("求决", TODAY, "柳树村", name="赵大明", phone="13700001111", content="楼道堆放杂物")
    with filled.db.write() as s:
        demands.edit(s, filled.people.registrar, code, {"content": "消防通道被占用"})
    # The same phone with a new name renames the petitioner: his older demand follows.
    filled.register("咨询", TODAY, "柳树村", name="赵光明远", phone="13700001111", content="咨询低保政策")
    view = make_view(qtbot, filled, tmp_path)
    change(qtbot, view, lambda: view.search.setText("消防通道"))
    assert view.count == 1
    change(qtbot, view, lambda: view.search.setText("楼道堆放"))
    assert view.count == 0
    change(qtbot, view, lambda: view.search.setText("赵光明远"))
    assert view.count == 2


def test_header_click_sorts_by_that_column(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    view = make_view(qtbot, filled, tmp_path)
    header = view.table.horizontalHeader()
    section = COLUMN_INDEX["petitioner"]
    pos = QPoint(header.sectionViewportPosition(section) + header.sectionSize(section) // 2, header.height() // 2)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert view.model.sort_key == "petitioner"
    descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    with filled.db.read() as s:
        expected = queries.ids(s, DemandFilter(), sort="petitioner", descending=descending)
    assert [view.model.demand_id(r) for r in range(view.count)] == expected
    names = [view.model.data(view.model.index(r, section)) for r in range(view.count)]
    assert names == sorted(names, reverse=descending) or len(set(names)) < len(names)


def test_base_filter_and_preset_filter(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    qingshan = filled.town.villages["青山村"]
    view = make_view(qtbot, filled, tmp_path, base_filter=DemandFilter(village_ids=[qingshan]))
    assert view.count == 4
    assert view.village_box.isHidden()
    change(qtbot, view, lambda: view.set_filter(DemandFilter(overdue=True), "已超期"))
    assert view.count == count(filled, DemandFilter(village_ids=[qingshan], overdue=True))
    assert view.preset_label.text() == "筛选：已超期" and view.preset_label.isVisible()
    change(qtbot, view, lambda: view.set_filter(DemandFilter(village_ids=[filled.town.villages["柳树村"]]), "柳树村"))
    assert view.count == 0  # the base filter still holds
    change(qtbot, view, view.clear_preset)
    assert view.count == 4 and not view.preset_label.isVisible()


def test_column_choices_persist(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    view = make_view(qtbot, filled, tmp_path)
    view.set_column_visible(COLUMN_INDEX["satisfaction"], False)
    view.table.horizontalHeader().resizeSection(COLUMN_INDEX["content"], 444)
    again = make_view(qtbot, filled, tmp_path)
    header = again.table.horizontalHeader()
    assert header.isSectionHidden(COLUMN_INDEX["satisfaction"])
    assert header.sectionSize(COLUMN_INDEX["content"]) == 444


# -- in the main window ------------------------------------------------------------------------


def make_window(qtbot: Any, ctx: AppContext, page: str = "ledger") -> MainWindow:
    window = MainWindow(ctx, start_page=page)
    qtbot.addWidget(window)
    window.show()
    return window


def test_double_click_opens_the_demand(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    window = make_window(qtbot, context_for(filled, "dengji", tmp_path / "files"))
    view = window.page("ledger")
    assert isinstance(view, LedgerView)
    qtbot.waitUntil(lambda: view.model.has_loaded and not view.model.loading)
    rect = view.table.visualRect(view.model.index(1, COLUMN_INDEX["content"]))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    demand_id = view.model.demand_id(1)
    qtbot.waitUntil(lambda: demand_id in window.dialogs)
    dialog = window.dialogs[demand_id]
    assert dialog.isVisible() and dialog.detail is not None
    assert dialog.detail.row.code == view.model.data(view.model.index(1, COLUMN_INDEX["code"]))


def test_main_window_navigation_status_bar_and_open_ledger(qtbot: Any, filled: Any,
                                                           tmp_path: Path) -> None:
    window = make_window(qtbot, context_for(filled, "dengji", tmp_path / "files"), page="reports")
    titles = [window.nav_list.item(i).text() for i in range(window.nav_list.count())]
    assert titles == ["工作台", "受理登记", "诉求台账", "一村一档", "预警督办", "报表报送", "设置"]
    assert [p.title for p in PAGES] == titles
    missing = window._create(Page("later", "以后", "app.views.no_such_screen", "Nothing"))
    assert missing.findChildren(type(window.db_label))[0].text() == "“以后”将在下一版本提供。"
    assert window.db_label.text() == "数据库：t.sqlite"
    assert window.user_label.text() == "用户：王登记（登记员）"
    overdue, due_soon = count(filled, DemandFilter(overdue=True)), count(filled, DemandFilter(due_soon=True))
    qtbot.waitUntil(lambda: window.overdue == overdue and window.due_soon == due_soon)
    assert f"超期 {overdue}" in window.counts_label.text() and f"临期 {due_soon}" in window.counts_label.text()
    # The status bar warns when this or next year has no official holiday schedule.
    with filled.db.read() as s:
        uncovered = bool(calendar.coverage(s).missing)
    assert window.calendar_label.isVisibleTo(window) == uncovered
    if uncovered:
        assert "节假日数据未覆盖" in window.calendar_label.text()

    window.ctx.nav.open_ledger.emit(DemandFilter(overdue=True), "已超期")
    assert window.current_page() == "ledger"
    view = window.page("ledger")
    qtbot.waitUntil(lambda: view.model.has_loaded and not view.model.loading and view.count == overdue)

    # A write elsewhere: the counts follow.
    with filled.db.write() as s:
        code = s.scalar(sa.text("SELECT code FROM demand WHERE deadline < :t AND status = 'registered' LIMIT 1"),
                        {"t": TODAY})
        demands.screen(s, filled.people.registrar, code, "虚假", "经核实不存在")
    window.ctx.nav.data_changed.emit()
    qtbot.waitUntil(lambda: window.overdue == overdue - 1)
    qtbot.waitUntil(lambda: view.count == overdue - 1)


def test_every_page_opens(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    window = make_window(qtbot, context_for(filled, "admin", tmp_path / "files"))
    for page in PAGES:
        window.nav_list.setCurrentRow(PAGES.index(page))
        assert window.current_page() == page.key
        assert window.stack.currentWidget() is window.page(page.key)


# -- before the main window: first start and login --------------------------------------------


def test_login_refuses_a_wrong_password(qtbot: Any, ledger: Any) -> None:
    dialog = LoginDialog(ledger.db)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.username.setText("dengji")
    dialog.password.setText("wrong")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.error.isVisible() and dialog.error.text() == "用户名或密码不正确"
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.password.text() == ""
    dialog.password.setText("secret")
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.user is not None and dialog.user.name == "王登记"
    assert LoginDialog(ledger.db).username.text() == "dengji"  # remembered


def test_first_start_creates_the_township_and_its_admin(qtbot: Any, db: Any) -> None:
    assert needs_setup(db)
    wizard = FirstStartDialog(db)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.name.setText("宕梁街道")
    wizard.code.setText("511902003")
    wizard.villages.setPlainText("柳树社区,511902003001,第一网格;第二网格\n兴文村")
    wizard.units.setPlainText("综治中心\n区住建局,区")
    wizard.admin_name.setText("周主任")
    wizard.password.setText("1234")
    wizard.confirm.setText("12345")
    with qtbot.waitSignal(wizard.create_button.clicked):
        qtbot.mouseClick(wizard.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.error.isVisible())
    assert wizard.error.text() == "确认密码：两次输入的密码不一致"
    wizard.confirm.setText("1234")
    with qtbot.waitSignal(wizard.accepted, timeout=10_000):
        qtbot.mouseClick(wizard.create_button, Qt.MouseButton.LeftButton)
    assert wizard.choice == "created" and not needs_setup(db)
    with db.read() as s:
        user = setup.authenticate(s, "admin", "1234")
        assert user.name == "周主任" and user.roles == "admin"
        lists = queries.choices(s)
    assert [name for _, name in lists.villages] == ["柳树社区", "兴文村"]
    units = {name: level for _, name, level in lists.units}
    assert units["综治中心"] is Level.TOWNSHIP and units["区住建局"] is Level.DISTRICT


def test_start_without_a_township_can_open_the_demo(qtbot: Any, qapp: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``kuaichu`` with no command: wizard → demo database → login → main window."""
    import logging

    from PySide6.QtWidgets import QApplication

    from app import cli, gui
    from app.views import main_window

    data = tmp_path / "data"
    monkeypatch.setenv("KUAICHU_DATA_DIR", str(data))
    monkeypatch.setattr(gui, "DEMO_DEMANDS", 40)
    monkeypatch.setattr("sys.excepthook", __import__("sys").excepthook)
    shown: list[Any] = []

    def wizard_exec(self: FirstStartDialog) -> int:
        self.choose_demo()
        return QDialog.DialogCode.Accepted

    def login_exec(self: LoginDialog) -> int:
        shown.append([label.text() for label in self.findChildren(type(self.error))])
        self.username.setText("dengji")
        self.password.setText("demo")
        return QDialog.DialogCode.Accepted if self.try_login() else QDialog.DialogCode.Rejected

    def app_exec() -> int:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, main_window.MainWindow))
        shown.append((window.ctx.user.username, window.db_label.text()))
        window.close()
        return 0

    monkeypatch.setattr(FirstStartDialog, "exec", wizard_exec)
    monkeypatch.setattr(LoginDialog, "exec", login_exec)
    monkeypatch.setattr(qapp, "exec", app_exec)
    handlers = list(logging.getLogger().handlers)
    try:
        assert cli.main(["--db", str(tmp_path / "new.sqlite")]) == 0
    finally:
        for h in logging.getLogger().handlers:
            if h not in handlers:
                logging.getLogger().removeHandler(h)
                h.close()
    assert any("演示数据库账号" in text for text in shown[0])
    assert shown[1] == ("dengji", "数据库：demo.sqlite")
    assert (data / "demo.sqlite").exists() and (data / "kuaichu.log").exists()


def test_a_font_with_chinese_glyphs_is_chosen(qapp: Any) -> None:
    from PySide6.QtGui import QFontDatabase

    from app.views import fonts

    family = fonts.choose_family()
    assert family is not None
    assert QFontDatabase.WritingSystem.SimplifiedChinese in QFontDatabase.writingSystems(family)
    assert fonts.apply_font(qapp) == family and family in qapp.font().families()


def test_open_demands_choice_and_window_geometry_persist(qtbot: Any, filled: Any, tmp_path: Path) -> None:
    ctx = context_for(filled, "dengji", tmp_path / "files")
    window = make_window(qtbot, ctx)
    view = window.page("ledger")
    qtbot.waitUntil(lambda: view.model.has_loaded and not view.model.loading)
    change(qtbot, view, lambda: view.status_box.setCurrentIndex(view.status_box.findText("在办（未办结）")))
    assert view.count == count(filled, DemandFilter(open_only=True)) == 19
    window.resize(1111, 777)
    window.close()
    again = make_window(qtbot, ctx)
    # Restored from QSettings, not the default 1360×860 (the offscreen platform may shift it a little).
    assert abs(again.width() - 1111) <= 40 and abs(again.height() - 777) <= 40

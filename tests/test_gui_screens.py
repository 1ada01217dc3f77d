"""The screens staff live in, driven offscreen: 工作台, 受理登记, 一村一档, 预警督办, 设置."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QComboBox

from app.models import AuditEvent, Channel, Demand, Holiday, Supervision, Village
from app.services import calendar, dashboard, demands, queries, rates, settings, villages
from app.services.queries import DemandFilter
from app.views import tasks
from app.views.context import AppContext
from app.views.dashboard import DashboardView
from app.views.intake import IntakeView
from app.views.settings_view import SettingsView
from app.views.villages import VillagesView
from app.views.warnings import WarningsView
from tests.screen_fixtures import ScreenDb, build_screen_db


@pytest.fixture(scope="module")
def screen_db(tmp_path_factory: pytest.TempPathFactory):
    """A township with 80 demands in every state; tests using it never write."""
    built = build_screen_db(tmp_path_factory.mktemp("screens") / "s.sqlite", 80)
    yield built
    tasks.wait_all()
    built.db.dispose()


@pytest.fixture
def fresh_db(tmp_path: Path):
    """A small township of its own, for tests that write."""
    built = build_screen_db(tmp_path / "w.sqlite", 12, seed=11)
    yield built
    tasks.wait_all()
    built.db.dispose()


def context(built: ScreenDb, username: str, tmp: Path | None = None) -> AppContext:
    return AppContext(built.db, built.user(username), (tmp or built.path.parent) / "files")


def type_text(qtbot, widget, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type like a user: ASCII as key presses, Chinese as an input method's commit (as an IME does)."""
    target = widget.lineEdit() if isinstance(widget, QComboBox) else widget
    if text.isascii():
        qtbot.keyClicks(target, text)
        return
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(target, event)


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    """Press a key where the keyboard sends it: an open suggestion list, else the focused widget."""
    target = QApplication.activePopupWidget() or QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def show(qtbot, widget):  # type: ignore[no-untyped-def]
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


# -- 工作台 ------------------------------------------------------------------------------


def test_dashboard_numbers_equal_the_services(qtbot, screen_db: ScreenDb) -> None:
    view = DashboardView(context(screen_db, "zhuyao"))
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    today = date.today()
    this_month = rates.Period(today.replace(day=1), today)
    with screen_db.db.read() as s:
        expected_counts = {
            "action.overdue": queries.count(s, DemandFilter(overdue=True)),
            "action.due_soon": queries.count(s, DemandFilter(due_soon=True)),
            "action.awaiting_signoff": queries.count(s, DemandFilter(statuses=[demands.Status.AWAITING_SIGNOFF])),
            "action.awaiting_evaluation": queries.count(s, DemandFilter(awaiting_evaluation=True)),
            "action.rework": queries.count(s, DemandFilter(rework=True, open_only=True)),
            "this.received": rates.received(s, this_month).get(None, rates.Ratio(0, 0)).denominator,
        }
        completion = rates.completion_rate(s, this_month).get(None, rates.Ratio(0, 0))
        satisfaction = rates.satisfaction_rate(s, this_month).get(None, rates.Ratio(0, 0))
        # Every number's filter selects exactly as many demands as the number says.
        for key, tile in view.tiles.items():
            figure = tile.figure
            assert figure is not None, key
            if isinstance(figure.value, int) and figure.filter is not None:
                assert queries.count(s, figure.filter) == figure.value, key
    for key, value in expected_counts.items():
        assert view.tiles[key].figure.value == value, key
        assert view.tiles[key].number_text == f"{value:,}"
    assert expected_counts["action.overdue"] > 0
    assert view.tiles["this.completion"].number_text == completion.percent()
    assert view.tiles["this.satisfaction"].number_text == satisfaction.percent()


def test_dashboard_click_opens_ledger_with_the_figures_filter(qtbot, screen_db: ScreenDb) -> None:
    ctx = context(screen_db, "zhuyao")
    view = show(qtbot, DashboardView(ctx))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    with qtbot.waitSignal(ctx.nav.open_ledger, timeout=2_000) as blocker:
        qtbot.mouseClick(view.tiles["action.overdue"], Qt.MouseButton.LeftButton)
    f, title = blocker.args
    assert f == DemandFilter(overdue=True)
    assert "超期" in title
    with screen_db.db.read() as s:
        assert queries.count(s, f) == view.tiles["action.overdue"].figure.value

    with qtbot.waitSignal(ctx.nav.open_ledger, timeout=2_000) as blocker:
        qtbot.mouseClick(view.tiles["last.received"], Qt.MouseButton.LeftButton)
    f, _title = blocker.args
    last = dashboard.month_period(dashboard.shift_month(date.today(), -1))
    assert (f.received_from, f.received_to) == (last.start, last.end)

    # A bar of the trend chart opens that month's received demands.
    with qtbot.waitSignal(ctx.nav.open_ledger, timeout=2_000) as blocker:
        view.open_trend(11, closed=False)
    assert blocker.args[0].received_from == date.today().replace(day=1)


# -- 受理登记 ----------------------------------------------------------------------------


def test_register_a_demand_from_the_keyboard(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, IntakeView(context(fresh_db, "dengji", tmp_path)))
    assert QApplication.focusWidget() is view.name_edit
    type_text(qtbot, view.name_edit, "钱新民")
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.address_edit
    type_text(qtbot, view.address_edit, "柳树社区8号")
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.phone_edit
    qtbot.keyClicks(view.phone_edit, "13688889999")
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.type_combo
    qtbot.keyClicks(view.type_combo, "qj")  # 求决 by its pinyin initials
    press(qtbot, Qt.Key.Key_Tab)
    assert view.type_combo.currentText() == "求决"
    assert "20 个工作日" in view.deadline_label.text()
    for combo, initials in zip(view.cat_combos, ("csgl", "sz", "ldzm"), strict=True):  # 城市管理 › 市政 › 路灯照明
        assert QApplication.focusWidget() is combo
        qtbot.keyClicks(combo, initials)
        press(qtbot, Qt.Key.Key_Tab)
    assert [c.currentText() for c in view.cat_combos] == ["城市管理", "市政", "路灯照明"]
    assert QApplication.focusWidget() is view.channel_combo
    qtbot.keyClicks(view.channel_combo, "lf")  # 来访
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.content_edit
    type_text(qtbot, view.content_edit, "小区门口路灯不亮")
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.date_edit
    press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.village_combo
    qtbot.keyClicks(view.village_combo, "ls")
    press(qtbot, Qt.Key.Key_Tab)
    assert view.village_combo.currentText() == "柳树社区"
    with qtbot.waitSignal(view.saved, timeout=5_000) as blocker:
        press(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    demand_id, code = blocker.args
    assert code in view.banner.text()
    with fresh_db.db.read() as s:
        d = demands.get(s, code)
        assert d.id == demand_id
        assert d.content == "小区门口路灯不亮"
        assert d.type is demands.DemandType.SOLVE
        assert d.village.name == "柳树社区"
        assert d.petitioner.name == "钱新民" and d.petitioner.phone == "13688889999"
        assert d.received_on == date.today()
        assert d.category.name == "路灯照明" and d.channel.name == "来访"


def test_ctrl_shift_s_saves_and_starts_the_next(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, IntakeView(context(fresh_db, "dengji", tmp_path)))
    view.type_combo.set_current_id(1)  # 建议
    type_text(qtbot, view.content_edit, "建议增设健身器材")
    with qtbot.waitSignal(view.saved, timeout=5_000) as blocker:
        qtbot.keyClick(view.content_edit, Qt.Key.Key_S,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert blocker.args[1] in view.banner.text()
    assert view.content_edit.toPlainText() == ""
    assert QApplication.focusWidget() is view.name_edit
    with fresh_db.db.read() as s:
        assert demands.get(s, blocker.args[1]).content == "建议增设健身器材"


@pytest.mark.parametrize(
    ("field", "fill", "expected"),
    [
        ("联系方式", lambda v: v.phone_edit.setText("1368888"), "联系方式：手机号应为 11 位数字"),
        ("联系方式", lambda v: v.phone_edit.setText("5212345"), "联系方式：应为 11 位手机号，或带区号的固定电话"),
        ("诉求内容", lambda v: v.content_edit.clear(), "诉求内容：不能为空"),
        ("受理日期", lambda v: v.date_edit.setDate(date.today() + timedelta(days=3)), "不能是将来的日期"),
    ],
)
def test_validation_is_inline_and_names_the_field(qtbot, fresh_db: ScreenDb, tmp_path: Path,
                                                  field, fill, expected) -> None:  # type: ignore[no-untyped-def]
    view = show(qtbot, IntakeView(context(fresh_db, "dengji", tmp_path)))
    view.type_combo.set_current_id(2)
    view.content_edit.setPlainText("路灯不亮")
    fill(view)
    with fresh_db.db.read() as s:
        before = s.scalar(sa.select(sa.func.count(Demand.id)))
    qtbot.keyClick(view.content_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert expected in view.error_text(field)
    assert view.error_text(field).startswith(field)
    assert "未保存" in view.banner.text()
    with fresh_db.db.read() as s:
        assert s.scalar(sa.select(sa.func.count(Demand.id))) == before


def test_pinyin_initials_find_the_village(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, IntakeView(context(fresh_db, "dengji", tmp_path)))
    view.village_combo.setFocus()
    qtbot.keyClicks(view.village_combo, "ls")
    completer = view.village_combo.search
    assert completer.completionCount() >= 1
    assert completer.currentCompletion() == "柳树社区"
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)
    assert view.village_combo.currentText() == "柳树社区"
    assert view.village_combo.current_id() is not None
    # Its grids are now offered, and typing the grid's initials finds it too.
    assert view.grid_combo.isEnabled()
    assert view.grid_combo.matches("lsyw")


def test_known_petitioner_fills_the_form_and_warns_of_repeats(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    with fresh_db.db.read() as s:
        earlier = s.scalars(sa.select(Demand).where(Demand.petitioner_id.is_not(None))
                            .order_by(Demand.received_on.desc())).first()
        person = earlier.petitioner
        name, phone, address = person.name, person.phone, person.address
    view = show(qtbot, IntakeView(context(fresh_db, "dengji", tmp_path)))
    view.date_edit.setDate(earlier.received_on + timedelta(days=5) if earlier.received_on + timedelta(days=5)
                           <= date.today() else date.today())
    view.phone_edit.setFocus()
    qtbot.keyClicks(view.phone_edit, phone)
    press(qtbot, Qt.Key.Key_Tab)
    assert view.name_edit.text() == name
    assert view.address_edit.text() == address
    assert view.history is not None and view.history_table.rowCount() >= 1
    assert view.repeat_label.isVisible()
    assert "重复诉求" in view.repeat_label.text()
    codes = {view.history_table.item(r, 0).text() for r in range(view.history_table.rowCount())}
    assert earlier.code in codes


def test_registering_needs_the_registrar_role(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    with fresh_db.db.read() as s:
        before = s.scalar(sa.select(sa.func.count(Demand.id)))
    view = show(qtbot, IntakeView(context(fresh_db, "duban", tmp_path)))
    assert not view.save_button.isEnabled()
    assert "没有受理登记权限" in view.permission_note.text()
    view.type_combo.set_current_id(2)
    view.content_edit.setPlainText("路灯不亮")
    assert view.save() is None
    with fresh_db.db.read() as s:
        assert s.scalar(sa.select(sa.func.count(Demand.id))) == before


# -- 一村一档 ---------------------------------------------------------------------------


def _village_id(built: ScreenDb, name: str) -> int:
    with built.db.read() as s:
        return s.scalars(sa.select(Village.id).where(Village.name == name)).one()


def test_village_figures_match_the_services(qtbot, screen_db: ScreenDb) -> None:
    view = VillagesView(context(screen_db, "zhuyao"))
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    vid = _village_id(screen_db, "桃园村")
    with qtbot.waitSignal(view.loaded, timeout=10_000), qtbot.waitSignal(view.ledger.loaded, timeout=10_000):
        view.select(vid)
    assert view.place_label.text() == "桃园村"
    period = villages.period_named("本年")
    where = [Demand.village_id == vid]
    with screen_db.db.read() as s:
        expected = {
            "received": queries.count(s, DemandFilter(village_ids=[vid], received_from=period.start,
                                                      received_to=period.end)),
            "open": queries.count(s, DemandFilter(village_ids=[vid], open_only=True)),
            "overdue": queries.count(s, DemandFilter(village_ids=[vid], overdue=True)),
        }
        completion = rates.completion_rate(s, period, where=where).get(None, rates.Ratio(0, 0))
        satisfaction = rates.satisfaction_rate(s, period, where=where).get(None, rates.Ratio(0, 0))
        everything = queries.count(s, DemandFilter(village_ids=[vid]))
        overdue_by_village = {v: queries.count(s, DemandFilter(village_ids=[v], overdue=True))
                              for v in s.scalars(sa.select(Village.id))}
    for key, value in expected.items():
        assert view.tiles[key].figure.value == value, key
    assert view.tiles["completion"].number_text == completion.percent()
    assert view.tiles["satisfaction"].number_text == satisfaction.percent()
    assert view.ledger.count == everything  # the sub-ledger shows the whole village
    # The tree marks exactly the villages that have overdue demands, with their count.
    marked = {}
    for i in range(view.tree.topLevelItemCount()):
        item = view.tree.topLevelItem(i)
        late = item.icon(0).cacheKey() == view.late_icon.cacheKey()
        marked[item.data(0, Qt.ItemDataRole.UserRole)] = (late, item.text(2))
    assert marked == {v: (n > 0, str(n) if n else "") for v, n in overdue_by_village.items()}
    assert any(late for late, _ in marked.values())

    # A count narrows the sub-ledger to exactly its demands.
    with qtbot.waitSignal(view.ledger.loaded, timeout=10_000) as blocker:
        qtbot.mouseClick(view.tiles["open"], Qt.MouseButton.LeftButton)
    assert blocker.args[0] == expected["open"]


# -- 预警督办 ---------------------------------------------------------------------------


def test_warnings_lists_agree_with_the_ledger(qtbot, screen_db: ScreenDb) -> None:
    ctx = context(screen_db, "duban")
    view = WarningsView(ctx)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    data = view.data
    assert data is not None and data.units
    with screen_db.db.read() as s:
        for unit in data.units:
            for key in ("open", "due_soon", "overdue"):
                assert queries.count(s, unit.filter(key)) == getattr(unit, key), (unit.name, key)
        assert sum(u.overdue for u in data.units) <= queries.count(s, DemandFilter(overdue=True))
        for p in data.repeats:
            assert p.count >= 2
            assert queries.count(s, p.filter(data.repeat_since)) == p.count
        for dl in data.lists.values():
            assert dl.total == queries.count(s, dl.filter)
    assert view.tiles["overdue"].figure.value == data.lists["overdue"].total
    row = next(i for i, u in enumerate(data.units) if u.overdue)
    with qtbot.waitSignal(ctx.nav.open_ledger, timeout=2_000) as blocker:
        view.open_unit_cell(row, 4)
    assert blocker.args[0] == DemandFilter(overdue=True, unit_ids=[data.units[row].unit_id])


def test_supervisor_can_supervise(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, WarningsView(context(fresh_db, "duban", tmp_path)))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    key = next(k for k in ("overdue", "due_soon", "rework", "transferred") if view.lists[k].data.rows)
    view.select_demand(key, 0)
    row = view.selected_demand()
    assert row is not None and view.supervise_button.isEnabled()
    type_text(qtbot, view.note_edit, "请三个工作日内办结")
    with qtbot.waitSignal(view.supervised, timeout=10_000) as blocker:
        qtbot.mouseClick(view.supervise_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == row.id
    with fresh_db.db.read() as s:
        d = s.get(Demand, row.id)
        assert d.supervised
        notes = s.scalars(sa.select(Supervision.note).where(Supervision.demand_id == row.id)).all()
    assert notes == ["请三个工作日内办结"]


def test_registrar_cannot_supervise(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, WarningsView(context(fresh_db, "dengji", tmp_path)))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    key = next(k for k in ("overdue", "due_soon", "rework", "transferred") if view.lists[k].data.rows)
    view.select_demand(key, 0)
    assert view.selected_demand() is not None
    assert not view.supervise_button.isEnabled()
    assert not view.note_edit.isEnabled()
    assert "不能督办" in view.permission_note.text()
    with qtbot.waitSignal(view.supervise_failed, timeout=2_000):
        view.supervise()
    with fresh_db.db.read() as s:
        assert s.scalar(sa.select(sa.func.count(Supervision.id))) == 0


# -- 设置 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "settings_ok", "users_ok", "holidays_ok"), [
    ("admin", True, True, True),
    ("dengji", False, False, True),  # 登记员 may keep the holiday table (access.py)
    ("duban", False, False, False),
    ("zhuyao", False, False, False),
])
def test_settings_are_read_only_without_the_role(qtbot, screen_db: ScreenDb, username: str, settings_ok: bool,
                                                 users_ok: bool, holidays_ok: bool) -> None:
    view = SettingsView(context(screen_db, username))
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    for page in (view.township, view.villages, view.units, view.categories, view.channels, view.rules):
        assert view.is_read_only(page) is not settings_ok, type(page).__name__
    assert all(spin.isEnabled() is settings_ok for spin, _unit in view.rules.cells.values())
    assert view.is_read_only(view.users) is not users_ok
    assert view.is_read_only(view.holidays) is not holidays_ok
    assert view.readonly_banner.isHidden() is (settings_ok and users_ok and holidays_ok)
    if not settings_ok:
        with qtbot.waitSignal(view.save_failed, timeout=2_000):
            view.channels.add()  # refused even when called directly


def test_admin_changes_go_through_the_services_with_audit(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, SettingsView(context(fresh_db, "admin", tmp_path)))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    # A new channel.
    view.tabs.setCurrentWidget(view.channels)
    type_text(qtbot, view.channels.name_edit, "微信群")
    with qtbot.waitSignal(view.saved, timeout=10_000), qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.channels.add_button, Qt.MouseButton.LeftButton)
    # A deadline rule: 求决 of the township rules becomes 10 calendar days.
    spin, unit = view.rules.cells[("township", "solve")]
    spin.setValue(10)
    unit.setCurrentIndex(unit.findData("calendar"))
    with qtbot.waitSignal(view.saved, timeout=10_000), qtbot.waitSignal(view.loaded, timeout=10_000):
        view.rules.save()
    # A village: duplicate names are refused, in Chinese, naming the field.
    view.villages.name_edit.setText("柳树社区")
    with qtbot.waitSignal(view.save_failed, timeout=10_000) as failed:
        view.villages.add_village()
    assert "村(社区)名称" in failed.args[0] and "已存在" in failed.args[0]
    with fresh_db.db.read() as s:
        assert s.scalars(sa.select(Channel).where(Channel.name == "微信群")).one()
        rules = settings.get(s, "deadline_rules")
        actions = s.execute(sa.select(AuditEvent.entity, AuditEvent.action)
                            .where(AuditEvent.actor_id == fresh_db.user("admin").id)).all()
    assert rules["township"]["solve"] == {"days": 10, "unit": "calendar"}
    assert ("channel", "create") in actions and ("setting", "setting") in actions


def test_holiday_coverage_warning_and_import(qtbot, fresh_db: ScreenDb, tmp_path: Path) -> None:
    view = show(qtbot, SettingsView(context(fresh_db, "admin", tmp_path)))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    with fresh_db.db.read() as s:
        cov = calendar.coverage(s)
    assert view.coverage_banner.isVisible() is bool(cov.missing)
    if cov.missing:
        assert cov.warning() in view.coverage_banner.text()
    year = date.today().year + 5  # a year no built-in schedule covers
    csv_file = tmp_path / "holidays.csv"
    csv_file.write_text(f"日期,类别,名称\n{year}-01-01,休,元旦\n{year}-02-06,班,春节\n", encoding="utf-8")
    with qtbot.waitSignal(view.saved, timeout=10_000), qtbot.waitSignal(view.loaded, timeout=10_000):
        view.holidays.import_csv(csv_file)
    with fresh_db.db.read() as s:
        days = s.scalars(sa.select(Holiday.day).where(Holiday.day >= date(year, 1, 1))).all()
    assert sorted(days) == [date(year, 1, 1), date(year, 2, 6)]


# -- screenshots ---------------------------------------------------------------------------


def test_screenshots_render_every_main_screen(qtbot, screen_db: ScreenDb, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    from app.views.screenshots import SHOTS, render_screenshots

    files = render_screenshots(str(screen_db.path), tmp_path / "shots")
    assert [f.stem for f in files] == [name for name, _title in SHOTS]
    for f in files:
        image = QImage(str(f))
        assert not image.isNull() and image.width() > 300, f.name

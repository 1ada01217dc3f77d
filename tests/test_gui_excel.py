"""Excel in the desktop program: 文件 › 导入台账…, the ledger's two export buttons and the
一村一档 workbook exports, driven through the real widgets offscreen."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import shiboken6
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QPushButton

from app.excel.choices import load_names
from app.excel.exporter import HEADER_TOP, VIEW_COLUMNS
from app.services import queries
from app.services.queries import DemandFilter
from app.views import export_actions
from app.views.export_actions import PeriodDialog
from app.views.import_wizard import PAGE_CHECK, PAGE_MAPPING, PAGE_RUN
from app.views.ledger import COLUMN_INDEX, LedgerView
from app.views.main_window import MainWindow
from app.views.villages import VillagesView
from app.vocab import DemandType, Status
from tests.gui_fixtures import context_for, isolated_qsettings

TODAY = date.today()
WAIT = 15_000


@pytest.fixture(autouse=True)
def _qsettings(qapp: Any, tmp_path: Path) -> Iterator[Path]:
    yield from isolated_qsettings(tmp_path)


@pytest.fixture
def filled(ledger: Any) -> Any:
    """Fifteen demands in the three villages of conftest's township, some of them further along."""
    lights = [ledger.register("求决", TODAY - timedelta(days=i), "柳树村", name=f"柳{i}",
                              content=f"村道路灯损坏，夜间出行不便（{i}号）") for i in range(6)]
    for i in range(4):
        ledger.register("咨询", TODAY - timedelta(days=2 * i), "河东社区", content="咨询城乡居民医保缴费政策")
    for i in range(3):
        ledger.register("求决", TODAY - timedelta(days=20 + i), "青山村", content="自来水管道破裂，家中停水")
    for _ in range(2):
        ledger.register("建议", TODAY, "柳树村", content="建议在广场增设健身器材")
    ledger.advance(lights[0], Status.HANDLING)
    ledger.advance(lights[1], Status.EVALUATED, on=TODAY)
    return ledger


def count(led: Any, f: DemandFilter) -> int:
    with led.db.read() as s:
        return queries.count(s, f)


def save_to(monkeypatch: pytest.MonkeyPatch, target: Path) -> list[str]:
    """The save dialog answers ``target`` (and records the names it suggested)."""
    asked: list[str] = []

    def fake(_parent: Any, _caption: str = "", suggested: str = "", _filter: str = "", *_a: Any,
             **_k: Any) -> tuple[str, str]:
        asked.append(suggested)
        return str(target), export_actions.FILTER

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    return asked


def wait_export(qtbot: Any, owner: Any, target: Path) -> None:
    qtbot.waitUntil(lambda: owner.export_task is not None and owner.export_task.done, timeout=WAIT)
    assert owner.export_task.error is None
    assert target.exists()


def shown_ledger(qtbot: Any, led: Any, tmp_path: Path, user: str = "dengji") -> LedgerView:
    view = LedgerView(context_for(led, user, tmp_path / "files"))
    qtbot.addWidget(view)
    view.resize(1500, 700)
    view.show()
    qtbot.waitUntil(lambda: view.model.has_loaded and not view.model.loading, timeout=WAIT)
    return view


def change(qtbot: Any, view: LedgerView, action: Any) -> None:
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        action()


def file_menu_action(window: MainWindow, text: str) -> QAction:
    menus = [m for m in window.menuBar().findChildren(QMenu) if m.title() == "文件"]
    assert menus, "no 文件 menu"
    found = [a for a in menus[0].actions() if a.text() == text]
    assert len(found) == 1, f"{text} not in the 文件 menu"
    return found[0]


# -- 文件 › 导入台账… ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "enabled"), [("dengji", True), ("admin", True), ("youke", False),
                                                   ("banli", False), ("jijian", False)])
def test_import_menu_action_follows_the_import_role(qtbot: Any, ledger: Any, tmp_path: Path, username: str,
                                                    enabled: bool) -> None:
    window = MainWindow(context_for(ledger, username, tmp_path / "files"), start_page="ledger")
    qtbot.addWidget(window)
    action = file_menu_action(window, "导入台账…")
    assert action is window.import_action
    assert action.isEnabled() is enabled
    action.trigger()  # a disabled action does nothing
    assert (window.import_wizard is not None) is enabled
    if not enabled:
        assert window.open_import_wizard() is None
    else:
        assert window.open_import_wizard() is window.import_wizard  # one wizard at a time
        window.import_wizard.reject()


def test_import_wizard_from_the_menu_imports_a_csv_and_the_ledger_grows(
        qtbot: Any, filled: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context_for(filled, "dengji", tmp_path / "files")
    window = MainWindow(ctx, start_page="ledger")
    qtbot.addWidget(window)
    window.show()
    ledger_view = window.page("ledger")
    assert isinstance(ledger_view, LedgerView)
    qtbot.waitUntil(lambda: ledger_view.model.has_loaded and not ledger_view.model.loading, timeout=WAIT)
    before = ledger_view.count
    assert before == count(filled, DemandFilter())

    source = tmp_path / "旧台账.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["反映人", "联系电话", "村(社区)", "诉求类型", "诉求内容", "受理日期"])
        w.writerow(["褚一", "138 0013 8031", "柳树村", "求决类", "排水沟堵塞需要疏通",
                    (TODAY - timedelta(days=3)).strftime("%Y.%m.%d")])
        w.writerow(["卫二", "", "青山村", "咨询", "咨询养老保险缴费标准", (TODAY - timedelta(days=2)).isoformat()])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *_a, **_k: (str(source), "")))

    window.import_action.trigger()
    wizard = window.import_wizard
    assert wizard is not None and wizard.isVisible()
    browse = next(b for b in wizard.file_page.findChildren(QPushButton) if b.text() == "浏览…")
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=WAIT)
    assert wizard.file_page.chosen()

    wizard.next()
    assert wizard.currentId() == PAGE_MAPPING and wizard.mapping_page.isComplete()
    wizard.next()
    assert wizard.currentId() == PAGE_CHECK
    qtbot.waitUntil(lambda: wizard.preview is not None and not wizard.check_page.busy, timeout=WAIT)
    assert wizard.preview is not None
    assert (wizard.preview.read, wizard.preview.to_import, wizard.preview.errors) == (2, 2, 0)
    assert wizard.check_page.isComplete()

    with qtbot.waitSignal(ctx.nav.data_changed, timeout=WAIT):
        wizard.next()
        assert wizard.currentId() == PAGE_RUN
    qtbot.waitUntil(wizard.run_page.isComplete, timeout=WAIT)
    assert wizard.result is not None and wizard.result.imported == 2
    qtbot.waitUntil(lambda: ledger_view.count == before + 2 and not ledger_view.model.loading, timeout=WAIT)
    assert count(filled, DemandFilter()) == before + 2

    # The new demands are found like any other.
    change(qtbot, ledger_view, lambda: ledger_view.search.setText("养老保险"))
    assert ledger_view.count == 1

    window.show_page("dashboard")
    wizard.accept()  # 完成
    assert window.import_wizard is None
    assert window.current_page() == "ledger"
    qtbot.waitUntil(lambda: not shiboken6.isValid(wizard), timeout=WAIT)  # disposed once its work ended


def test_choices_for_unknown_values_are_the_database_lists(filled: Any) -> None:
    with filled.db.read() as s:
        names = load_names(s)
    assert names.of("village") == ["柳树村", "河东社区", "青山村"]
    assert "巴州区住房和城乡建设局" in names.of("unit")
    assert names.of("category") and all(isinstance(n, str) for n in names.of("category"))
    assert names.of("nonsense") == []


# -- 诉求台账: 导出当前视图, 导出区台账格式 ------------------------------------------------------------------


def test_export_current_view_writes_what_the_ledger_shows(qtbot: Any, filled: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    view = shown_ledger(qtbot, filled, tmp_path)
    assert view.export_view_button.isVisible() and view.export_district_button.isVisible()
    change(qtbot, view, lambda: view.type_box.setCurrentIndex(view.type_box.findData(DemandType.SOLVE)))
    view.set_column_visible(COLUMN_INDEX["category"], False)
    view.set_column_visible(COLUMN_INDEX["satisfaction"], False)
    header = view.table.horizontalHeader()
    header.moveSection(header.visualIndex(COLUMN_INDEX["content"]), 0)
    change(qtbot, view, lambda: header.setSortIndicator(COLUMN_INDEX["petitioner"], Qt.SortOrder.AscendingOrder))
    assert view.sort_state() == ("petitioner", False)
    keys = view.visible_column_keys()
    assert keys[0] == "content" and "category" not in keys and "satisfaction" not in keys
    assert view.count == count(filled, DemandFilter(types=[DemandType.SOLVE])) == 9

    target = tmp_path / "out" / "当前视图.xlsx"
    asked = save_to(monkeypatch, target)
    qtbot.mouseClick(view.export_view_button, Qt.MouseButton.LeftButton)
    wait_export(qtbot, view, target)
    assert asked and asked[0].endswith(".xlsx")

    ws = openpyxl.load_workbook(target)["台账"]
    assert ws["A1"].value == "诉求台账"
    assert "类型：求决" in ws["A2"].value
    assert [c.value for c in ws[HEADER_TOP]] == [VIEW_COLUMNS[k].title for k in keys]
    rows = list(ws.iter_rows(min_row=HEADER_TOP + 1, values_only=True))
    assert len(rows) == view.count
    code_at = keys.index("code")
    shown_codes = [view.model.data(view.model.index(r, COLUMN_INDEX["code"])) for r in range(view.count)]
    assert [r[code_at] for r in rows] == shown_codes  # same demands, same order
    names = [r[keys.index("petitioner")] for r in rows]
    assert names == sorted(names)
    assert view.export_task is not None and view.export_task.result.rows == view.count


def test_export_district_layout_of_the_current_filter(qtbot: Any, filled: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    view = shown_ledger(qtbot, filled, tmp_path)
    change(qtbot, view, lambda: view.village_box.setCurrentIndex(
        view.village_box.findData(filled.town.villages["柳树村"])))
    assert view.count == 8
    target = tmp_path / "区台账.xlsx"
    save_to(monkeypatch, target)
    qtbot.mouseClick(view.export_district_button, Qt.MouseButton.LeftButton)
    wait_export(qtbot, view, target)
    ws = openpyxl.load_workbook(target)["台账"]
    assert [c.value for c in ws[HEADER_TOP]][:6] == ["序号", "反映人", "住址", "联系方式", "诉求类型", "诉求类别"]
    data = [r for r in ws.iter_rows(min_row=HEADER_TOP + 2, values_only=True) if r[0] is not None]
    assert len(data) == view.count
    assert {r[-1] for r in data} == {"柳树村"}


def test_contradictory_filter_exports_nothing(qtbot: Any, filled: Any, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    view = shown_ledger(qtbot, filled, tmp_path)
    change(qtbot, view, lambda: view.set_filter(DemandFilter(village_ids=[filled.town.villages["青山村"]]), "青山村"))
    change(qtbot, view, lambda: view.village_box.setCurrentIndex(
        view.village_box.findData(filled.town.villages["柳树村"])))
    assert view.current_filter() is None and view.count == 0
    target = tmp_path / "never.xlsx"
    save_to(monkeypatch, target)
    assert view.export_current_view() is None
    assert view.export_district_ledger() is None
    assert not target.exists()


# -- 一村一档 -----------------------------------------------------------------------------------------------


def shown_villages(qtbot: Any, led: Any, tmp_path: Path) -> VillagesView:
    view = VillagesView(context_for(led, "dengji", tmp_path / "files"))
    qtbot.addWidget(view)
    view.resize(1400, 800)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.show()
    qtbot.waitUntil(lambda: view.ledger.model.has_loaded and not view.ledger.model.loading, timeout=WAIT)
    return view


def test_village_workbook_has_a_summary_and_one_sheet_per_village(qtbot: Any, filled: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    view = shown_villages(qtbot, filled, tmp_path)
    chosen: list[Any] = []

    def choose(cls: type[PeriodDialog], parent: Any) -> Any:
        dialog = cls(parent)  # the real chooser, answered as a user would
        dialog.by_range.setChecked(True)
        dialog.start.setDate(QDate(TODAY.year - 1, 1, 1))
        dialog.end.setDate(QDate(TODAY.year, TODAY.month, TODAY.day))
        chosen.append(dialog.period())
        return chosen[-1]

    monkeypatch.setattr(PeriodDialog, "ask", classmethod(choose))
    target = tmp_path / "一村一档.xlsx"
    save_to(monkeypatch, target)
    qtbot.mouseClick(view.export_all_button, Qt.MouseButton.LeftButton)
    wait_export(qtbot, view, target)
    assert chosen and chosen[0].start == date(TODAY.year - 1, 1, 1)

    book = openpyxl.load_workbook(target)
    village_names = ["柳树村", "河东社区", "青山村"]
    assert book.sheetnames == ["汇总", *village_names]
    summary = book["汇总"]
    labels = [summary.cell(row=r, column=1).value for r in range(HEADER_TOP + 2, HEADER_TOP + 6)]
    assert labels == [*village_names, "合计"]
    received = {summary.cell(row=r, column=1).value: summary.cell(row=r, column=2).value
                for r in range(HEADER_TOP + 2, HEADER_TOP + 6)}
    for name in village_names:
        vid = filled.town.villages[name]
        expected = count(filled, DemandFilter(village_ids=[vid], received_from=chosen[0].start,
                                              received_to=chosen[0].end))
        assert received[name] == expected
        rows = [r for r in book[name].iter_rows(min_row=HEADER_TOP + 2, values_only=True) if r[0] is not None]
        assert len(rows) == expected
    assert received["合计"] == count(filled, DemandFilter())


def test_export_this_village_and_the_embedded_ledger_has_no_village_box(
        qtbot: Any, filled: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    view = shown_villages(qtbot, filled, tmp_path)
    qingshan = filled.town.villages["青山村"]
    with qtbot.waitSignal(view.ledger.loaded, timeout=WAIT):
        view.select(qingshan)
    assert view.place == (qingshan, None) and view.export_village_button.isEnabled()
    assert view.ledger.village_box.isHidden() and view.ledger.count == 3
    with qtbot.waitSignal(view.ledger.loaded, timeout=WAIT):
        view.select(filled.town.villages["柳树村"], filled.town.grids["一组网格"])
    assert view.ledger.village_box.isHidden()  # a grid fixes the village too
    with qtbot.waitSignal(view.ledger.loaded, timeout=WAIT):
        view.select(qingshan)

    view.period_box.setCurrentText("全部")
    target = tmp_path / "青山村.xlsx"
    asked = save_to(monkeypatch, target)
    qtbot.mouseClick(view.export_village_button, Qt.MouseButton.LeftButton)
    wait_export(qtbot, view, target)
    assert asked  # no period dialog: the period beside the button is used
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["汇总", "青山村"]
    rows = [r for r in book["青山村"].iter_rows(min_row=HEADER_TOP + 2, values_only=True) if r[0] is not None]
    assert len(rows) == 3

    # The embedded ledger's own export titles the file with the village.
    view_target = tmp_path / "本村视图.xlsx"
    save_to(monkeypatch, view_target)
    qtbot.mouseClick(view.ledger.export_view_button, Qt.MouseButton.LeftButton)
    wait_export(qtbot, view.ledger, view_target)
    ws = openpyxl.load_workbook(view_target)["台账"]
    assert ws["A1"].value == "青山村诉求台账"
    assert len(list(ws.iter_rows(min_row=HEADER_TOP + 1))) == 3

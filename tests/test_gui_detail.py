"""The demand's detail dialog: its actions driven through the real buttons and forms."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage

from app import deadlines
from app.models import Attachment, Unit
from app.services import demands, settings
from app.services.calendar import load_calendar
from app.views.detail import ActionForm, DetailDialog
from app.vocab import Party, Satisfaction, ScreeningResult, Status
from tests.gui_fixtures import context_for, fill, isolated_qsettings


@pytest.fixture(autouse=True)
def _qsettings(qapp: Any, tmp_path: Path) -> Iterator[Path]:
    yield from isolated_qsettings(tmp_path)

TODAY = date.today()
REGISTRAR, HANDLER, DEPUTY, CHIEF, SUPERVISOR, ADMIN = "dengji", "banli", "fenguan", "zhuyao", "jijian", "admin"


def open_detail(qtbot: Any, led: Any, code: str, username: str, tmp_path: Path) -> DetailDialog:
    ctx = context_for(led, username, tmp_path / "files")
    dialog = DetailDialog(ctx, led.demand(code).id)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def unit_name(led: Any, unit_id: int) -> str:
    with led.db.read() as s:
        return s.get(Unit, unit_id).name


def open_form(qtbot: Any, dialog: DetailDialog, key: str) -> ActionForm:
    button = dialog.action_buttons[key]
    assert button.isVisible() and button.isEnabled(), f"{key} not offered: {dialog.visible_actions()}"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    form = dialog.current_form
    assert form is not None and form.isVisible()
    return form


def act(qtbot: Any, dialog: DetailDialog, key: str, values: dict[str, Any] | None = None) -> None:
    """Click the action's button, fill its form, press 确定 and wait until it is done."""
    form = open_form(qtbot, dialog, key)
    fill(form, values or {})
    with qtbot.waitSignal(dialog.action_done, timeout=10_000) as done:
        qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    assert done.args == [key]
    qtbot.waitUntil(lambda: not form.isVisible())


def refused(qtbot: Any, dialog: DetailDialog, key: str, values: dict[str, Any]) -> tuple[str, ActionForm]:
    form = open_form(qtbot, dialog, key)
    fill(form, values)
    with qtbot.waitSignal(dialog.action_failed, timeout=10_000) as failed:
        qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    return failed.args[1], form


def test_a_demand_from_screening_to_rework(qtbot: Any, ledger: Any, tmp_path: Path) -> None:
    code = ledger.register("求决", TODAY, "柳树村", name="张群众", content="村道路灯损坏，夜间出行不便")
    town = ledger.town

    reg = open_detail(qtbot, ledger, code, REGISTRAR, tmp_path)
    assert reg.status is Status.REGISTERED
    assert "screen" in reg.visible_actions() and "assign" not in reg.visible_actions()
    act(qtbot, reg, "screen", {"result": ScreeningResult.VALID})
    assert reg.status is Status.SCREENED
    act(qtbot, reg, "review", {"result": ScreeningResult.REASONABLE})
    assert reg.status is Status.PENDING_ASSIGNMENT
    act(qtbot, reg, "assign", {"unit": town.village_units["柳树村"], "co_units": [town.office_unit],
                               "reason": "小事村办"})
    assert reg.status is Status.HANDLING
    assert reg.detail.row.unit == unit_name(ledger, town.village_units["柳树村"])
    assert reg.detail.co_units == [unit_name(ledger, town.office_unit)]

    handler = open_detail(qtbot, ledger, code, HANDLER, tmp_path)
    assert "assign" not in handler.visible_actions()
    act(qtbot, handler, "transfer", {"unit": town.district_unit, "reason": "涉及区级职能，村级无法解决"})
    assert handler.detail.transfer_count == 1
    assert handler.detail.row.unit == unit_name(ledger, town.district_unit)
    kinds = [ev.kind for ev in handler.detail.story]
    assert "上移" in kinds
    act(qtbot, handler, "progress", {"text": "已联系区住建局现场核实，安排更换灯具"})
    assert any(ev.kind == "办理进展" and "更换灯具" in ev.text for ev in handler.detail.story)
    act(qtbot, handler, "submit_signoff", {"result_summary": "已更换灯具，恢复照明"})
    assert handler.status is Status.AWAITING_SIGNOFF

    # Four sign-offs, in order; each party's button appears only for who may record it.
    deputy = open_detail(qtbot, ledger, code, DEPUTY, tmp_path)
    assert "sign" not in deputy.visible_actions()  # the petitioner signs first
    assert handler.action_buttons["sign"].text() == "会签：诉求人签字"
    act(qtbot, handler, "sign", {"signer_name": "张群众", "opinion": "满意"})
    act(qtbot, handler, "sign", {"signer_name": "李办理", "opinion": "已按程序办理"})
    assert "sign" not in handler.visible_actions()  # next: 分管领导
    deputy.load()
    assert deputy.action_buttons["sign"].text() == "会签：分管领导签字"
    act(qtbot, deputy, "sign", {"signer_name": "赵分管", "opinion": "程序合规"})
    chief = open_detail(qtbot, ledger, code, CHIEF, tmp_path)
    act(qtbot, chief, "sign", {"signer_name": "钱主要", "opinion": "同意办结"})
    assert chief.status is Status.CLOSED
    assert [ev.kind for ev in chief.detail.story].count("会签·主要领导") == 1

    reg.load()
    assert "evaluate" in reg.visible_actions()
    act(qtbot, reg, "evaluate", {"result": Satisfaction.UNSATISFIED, "comment": "晚上还是有一盏不亮"})
    assert reg.status is Status.REWORK
    with ledger.db.read() as s:
        rule = deadlines.rule_for(settings.get(s, "deadline_rules"), "township", deadlines.REWORK)
        expected = deadlines.add(load_calendar(s), rule, TODAY).due
    assert reg.detail.row.deadline == expected
    assert reg.detail.rework_count == 1
    assert f"{expected}" in reg.field_labels["办理期限"].text()
    assert "二次整改" in reg.title_label.text()
    assert any(ev.kind == "评价" and "不满意" in ev.text for ev in reg.detail.story)


def test_actions_follow_roles(qtbot: Any, ledger: Any, tmp_path: Path) -> None:
    code = ledger.register("求决", TODAY, "柳树村")
    ledger.advance(code, Status.PENDING_ASSIGNMENT)
    visible = {user: open_detail(qtbot, ledger, code, user, tmp_path).visible_actions()
               for user in (REGISTRAR, HANDLER, DEPUTY, SUPERVISOR, ADMIN)}
    assert "assign" in visible[REGISTRAR] and "assign" in visible[DEPUTY]
    assert "assign" not in visible[SUPERVISOR] and "supervise" in visible[SUPERVISOR]
    assert "assign" not in visible[HANDLER] and "supervise" not in visible[HANDLER]
    assert visible[ADMIN] == []
    admin = open_detail(qtbot, ledger, code, ADMIN, tmp_path)
    assert admin.no_actions.isVisible()

    supervisor = open_detail(qtbot, ledger, code, SUPERVISOR, tmp_path)
    act(qtbot, supervisor, "supervise", {"note": "请三日内交办"})
    assert supervisor.detail.supervised and "已督办" in supervisor.title_label.text()

    done = ledger.register("求决", TODAY, "柳树村")
    ledger.advance(done, Status.EVALUATED, on=TODAY)
    reopen_for = {user: "reopen" in open_detail(qtbot, ledger, done, user, tmp_path).visible_actions()
                  for user in (REGISTRAR, HANDLER, DEPUTY, CHIEF, SUPERVISOR)}
    assert reopen_for == {REGISTRAR: False, HANDLER: False, DEPUTY: True, CHIEF: True, SUPERVISOR: False}
    deputy = open_detail(qtbot, ledger, done, DEPUTY, tmp_path)
    assert "edit" not in deputy.action_buttons and "progress" not in deputy.visible_actions()
    act(qtbot, deputy, "revisit", {"finding": "路灯正常，群众满意", "recurred": False})
    act(qtbot, deputy, "reopen", {"reason": "回头看发现问题反复"})
    assert deputy.status is Status.HANDLING


def test_refused_action_keeps_the_form_and_says_why(qtbot: Any, ledger: Any,
                                                    tmp_path: Path) -> None:
    code = ledger.register("求决", TODAY, "柳树村")
    ledger.advance(code, Status.HANDLING)
    dialog = open_detail(qtbot, ledger, code, HANDLER, tmp_path)
    message, form = refused(qtbot, dialog, "transfer", {"unit": ledger.town.district_unit, "reason": ""})
    assert message == "移交理由：不能为空"
    assert form.isVisible() and dialog.status is Status.HANDLING
    fill(form, {"reason": "需区级部门处理"})
    with qtbot.waitSignal(dialog.action_done, timeout=10_000):
        qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.detail.transfer_count == 1

    # A petitioner's refusal sends the demand back to handling.
    act(qtbot, dialog, "submit_signoff", {"result_summary": "已处理"})
    act(qtbot, dialog, "sign", {"signer_name": "群众", "opinion": "问题没有解决", "refused": True})
    assert dialog.status is Status.HANDLING and dialog.detail.signoff_round == 2


def test_a_change_by_another_session_is_reported_not_overwritten(qtbot: Any, ledger: Any,
                                                                 tmp_path: Path) -> None:
    code = ledger.register("求决", TODAY, "柳树村")
    dialog = open_detail(qtbot, ledger, code, REGISTRAR, tmp_path)
    form = open_form(qtbot, dialog, "screen")
    with ledger.db.write() as s:  # meanwhile, at another desk
        demands.screen(s, ledger.people.registrar, code, "虚假", "经核实反映情况不存在")
    fill(form, {"result": ScreeningResult.VALID})
    with qtbot.waitSignal(dialog.action_failed, timeout=10_000) as failed:
        qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    assert "已被其他人修改" in failed.args[1]
    assert dialog.status is Status.INVALID  # reloaded: shows what the other desk did
    assert ledger.demand(code).screening_result is ScreeningResult.FALSE
    assert "screen" not in dialog.visible_actions()


def test_extension_pause_and_instant_answer(qtbot: Any, ledger: Any, tmp_path: Path) -> None:
    code = ledger.register("求决", TODAY, "柳树村")
    ledger.advance(code, Status.HANDLING)
    handler = open_detail(qtbot, ledger, code, HANDLER, tmp_path)
    before = handler.detail.row.deadline
    assert "decide_extension" not in handler.visible_actions()
    act(qtbot, handler, "request_extension", {"days": 5, "reason": "需等待区级部门现场勘验"})
    assert "request_extension" not in handler.visible_actions()
    assert "decide_extension" not in handler.visible_actions()  # leaders decide
    deputy = open_detail(qtbot, ledger, code, DEPUTY, tmp_path)
    act(qtbot, deputy, "decide_extension", {"approve": True})
    assert deputy.detail.extension_days == 5 and deputy.detail.row.deadline > before

    handler.load()
    act(qtbot, handler, "pause", {"reason": "等待诉求人补充材料"})
    assert handler.detail.paused_since == TODAY
    assert "resume" in handler.visible_actions() and "submit_signoff" not in handler.visible_actions()
    act(qtbot, handler, "resume")
    assert handler.detail.paused_since is None

    consult = ledger.register("咨询", TODAY, "柳树村")
    registrar = open_detail(qtbot, ledger, consult, REGISTRAR, tmp_path)
    act(qtbot, registrar, "answer", {"answer": "城乡居民医保每年9月至12月缴费"})
    assert registrar.status is Status.AWAITING_SIGNOFF
    assert registrar.detail.next_party is Party.PETITIONER
    other = ledger.register("求决", TODAY, "柳树村")
    assert "answer" not in open_detail(qtbot, ledger, other, REGISTRAR, tmp_path).visible_actions()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#3a7bd5"))
    path = tmp_path / "现场照片.png"
    assert image.save(str(path))
    return path


def test_evidence_by_file_and_by_drop_shows_thumbnails(qtbot: Any, ledger: Any,
                                                       tmp_path: Path, photo: Path) -> None:
    code = ledger.register("求决", TODAY, "柳树村")
    ledger.advance(code, Status.HANDLING)
    dialog = open_detail(qtbot, ledger, code, HANDLER, tmp_path)
    assert dialog.files.isHidden()
    with qtbot.waitSignal(dialog.action_done, timeout=10_000):
        dialog.attach_files([photo])
    assert dialog.files.count() == 1
    item = dialog.files.item(0)
    assert item.text() == "现场照片.png" and not item.icon().isNull()
    rows = [dialog.timeline.topLevelItem(i) for i in range(dialog.timeline.topLevelItemCount())]
    evidence = [r for r in rows if r.text(1) == "佐证材料"]
    assert len(evidence) == 1 and not evidence[0].icon(2).isNull()

    note = tmp_path / "情况说明.txt"
    note.write_text("已现场核实", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(note))])
    drop = QDropEvent(QPointF(QPoint(20, 20)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(dialog.action_done, timeout=10_000):
        dialog.dropEvent(drop)
    assert dialog.files.count() == 2
    with ledger.db.read() as s:
        names = sorted(s.scalars(sa.select(Attachment.original_name)))
    assert names == ["情况说明.txt", "现场照片.png"]
    stored = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert len(stored) == 2


# -- the background helper the actions run on -------------------------------------------------


def test_long_work_shows_progress_after_half_a_second_and_can_be_cancelled(qtbot: Any) -> None:
    import threading

    from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton

    from app.views import tasks

    started, outcome = threading.Event(), []

    def work(control: tasks.TaskControl) -> None:
        started.set()
        done = 0
        while True:  # until cancelled: progress() raises Cancelled then
            done += 1
            control.progress(done % 100, 100, f"第 {done} 步")
            control._cancel.wait(0.01)

    task = tasks.run(work, title="正在测试", on_cancel=lambda: outcome.append("cancelled"),
                     on_done=lambda r: outcome.append("done"))
    assert started.wait(5)

    def dialog() -> QProgressDialog | None:
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()]
        return found[0] if found else None

    assert dialog() is None  # not before half a second
    qtbot.waitUntil(lambda: dialog() is not None, timeout=5000)
    progress = dialog()
    assert progress is not None and "正在测试" in progress.labelText()
    cancel = next(b for b in progress.findChildren(QPushButton) if b.text() == "取消")
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert outcome == ["cancelled"] and task.done
    qtbot.waitUntil(lambda: dialog() is None)


def test_quick_work_shows_no_dialog_and_errors_reach_the_caller(qtbot: Any) -> None:
    from app.errors import ValidationError
    from app.views import tasks

    results: list[Any] = []
    tasks.run(lambda c: 6 * 7, on_done=results.append)
    qtbot.waitUntil(lambda: results == [42])

    def bad(control: tasks.TaskControl) -> None:
        raise ValidationError("诉求内容", "不能为空")

    errors: list[BaseException] = []
    tasks.run(bad, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 1)
    assert str(errors[0]) == "诉求内容：不能为空"


def test_signoff_sheet_and_dossier_open_in_the_preview(qtbot: Any, ledger: Any, tmp_path: Path) -> None:
    import subprocess

    from PySide6.QtWidgets import QApplication, QPushButton

    from app.views.pdf_preview import PdfPreviewDialog

    code = ledger.register("求决", TODAY, "柳树村")
    dialog = open_detail(qtbot, ledger, code, SUPERVISOR, tmp_path)
    for name, title in (("print_signoff_sheet", "四方会签表"), ("print_dossier", "一案一卷")):
        qtbot.mouseClick(dialog.findChild(QPushButton, name), Qt.MouseButton.LeftButton)

        def shown(title: str = title) -> PdfPreviewDialog | None:
            return next((w for w in QApplication.topLevelWidgets()
                         if isinstance(w, PdfPreviewDialog) and w.isVisible() and title in w.windowTitle()), None)

        qtbot.waitUntil(lambda: shown() is not None, timeout=20_000)
        preview = shown()
        assert preview is not None
        text = subprocess.run(["pdftotext", str(preview.preview.path), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert code in text
        preview.close()

"""Every legal step of a demand's life, walked through the services as staff do it.

Expected deadlines are counted by hand on the State Council's 2025 schedule (劳动节
May 1–5 with Sunday Apr 27 worked; 端午 May 31–Jun 2); the receipt day is not counted.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.errors import IllegalTransition, ValidationError
from app.models import (
    Assignment,
    AuditEvent,
    Evaluation,
    Extension,
    Pause,
    ProgressEntry,
    Revisit,
    Screening,
    SignOff,
)
from app.services import demands
from app.vocab import (
    AssignmentKind,
    ExtensionStatus,
    Level,
    Party,
    Satisfaction,
    ScreeningResult,
    ScreeningStage,
    Status,
)


def rows(ledger, model, code):
    with ledger.db.read() as s:
        d = demands.get(s, code)
        return list(s.scalars(sa.select(model).where(model.demand_id == d.id).order_by(model.id)))


def test_solve_demand_from_registration_to_revisit(ledger):
    p, town, db = ledger.people, ledger.town, ledger.db
    versions = []

    def check(code, status, changed=True):
        """The demand is in ``status``; a change of the row bumped its version."""
        d = ledger.demand(code)
        assert d.status is status
        if changed:
            assert not versions or d.version > versions[-1]
            versions.append(d.version)
        return d

    # 登记: 求决 received Monday 2025-04-21. 20 working days, receipt day not counted:
    # Apr 22-25 (4), Sun Apr 27 调休 (5), Apr 28-30 (8), May 1-5 off, May 6-9 (12),
    # May 12-16 (17), May 19-21 (20) -> 2025-05-21.
    code = ledger.register("求决", date(2025, 4, 21), grid_id=town.grids["一组网格"])
    d = check(code, Status.REGISTERED)
    assert d.deadline == date(2025, 5, 21)
    assert not d.deadline_provisional
    assert d.registrar_id == p.registrar.id

    # 甄别: 初审 valid, 复核 部分合理.
    with db.write() as s:
        demands.screen(s, p.registrar, code, "有效")
    d = check(code, Status.SCREENED)
    assert d.screening_result is ScreeningResult.VALID
    with db.write() as s:
        demands.review(s, p.deputy, code, "部分合理", "诉求部分属实")
    d = check(code, Status.PENDING_ASSIGNMENT)
    assert d.review_result is ScreeningResult.PARTLY_REASONABLE
    assert [(r.stage, r.result) for r in rows(ledger, Screening, code)] == [
        (ScreeningStage.INITIAL, ScreeningResult.VALID),
        (ScreeningStage.REVIEW, ScreeningResult.PARTLY_REASONABLE)]

    # 交办 to the village committee with two co-handling units (1+N).
    village_unit = town.village_units["柳树村"]
    with db.write() as s:
        demands.assign(s, p.registrar, code, village_unit, co_unit_ids=[town.office_unit, town.township_unit],
                       reason="小事村办")
    d = check(code, Status.HANDLING)
    assert (d.unit_id, d.level, d.first_level) == (village_unit, Level.VILLAGE, Level.VILLAGE)
    assert sorted(u.id for u in d.co_units) == sorted([town.office_unit, town.township_unit])
    assert d.transfer_count == 0

    with db.write() as s:
        demands.add_progress(s, p.handler, code, "已联系供电所现场查看", done_on=date(2025, 4, 25))
    assert [e.text for e in rows(ledger, ProgressEntry, code)] == ["已联系供电所现场查看"]

    # 中止 Mon Apr 28 .. resume Wed May 7: the clock stood still on Apr 28, 29, 30 and
    # May 6 (May 1-5 are holidays) = 4 working days; May 21 + 4 -> May 22, 23, 26, 27.
    with db.write() as s:
        demands.pause(s, p.handler, code, "等待诉求人补充材料", on=date(2025, 4, 28))
    assert ledger.demand(code).paused_since == date(2025, 4, 28)
    with db.write() as s:
        demands.resume(s, p.handler, code, on=date(2025, 5, 7))
    d = ledger.demand(code)
    assert d.paused_since is None
    assert d.deadline == date(2025, 5, 27)
    [pause] = rows(ledger, Pause, code)
    assert (pause.paused_on, pause.resumed_on) == (date(2025, 4, 28), date(2025, 5, 7))

    # 移交 up to a district bureau, back down to the village, then sideways to another village.
    with db.write() as s:
        demands.transfer(s, p.handler, code, town.district_unit, "涉及主干线路，需区住建局处理")
    d = ledger.demand(code)
    assert (d.unit_id, d.level, d.first_level, d.transfer_count) == (
        town.district_unit, Level.DISTRICT, Level.VILLAGE, 1)
    with db.write() as s:
        demands.transfer(s, p.deputy, code, village_unit, "区住建局已解决主干线路，村内支线退回村里")
    with db.write() as s:
        demands.transfer(s, p.registrar, code, town.village_units["青山村"], "路段属青山村管辖")
    d = check(code, Status.HANDLING)
    assert (d.unit_id, d.level, d.transfer_count) == (town.village_units["青山村"], Level.VILLAGE, 3)
    moves = rows(ledger, Assignment, code)
    assert [(m.kind, m.from_unit_id, m.to_unit_id) for m in moves] == [
        (AssignmentKind.ASSIGN, None, village_unit),
        (AssignmentKind.TRANSFER_UP, village_unit, town.district_unit),
        (AssignmentKind.TRANSFER_DOWN, town.district_unit, village_unit),
        (AssignmentKind.TRANSFER, village_unit, town.village_units["青山村"]),
    ]
    assert moves[1].reason == "涉及主干线路，需区住建局处理"
    assert (moves[1].from_level, moves[1].level) == (Level.VILLAGE, Level.DISTRICT)

    # 延期 5 working days, approved by the 分管领导: May 27 -> May 28, 29, 30,
    # (端午 May 31-Jun 2 off) Jun 3, 4.
    with db.write() as s:
        ext_id = demands.request_extension(s, p.handler, code, 5, "需等待配件到货").id
    assert ledger.demand(code).deadline == date(2025, 5, 27)  # not before approval
    with db.write() as s:
        demands.decide_extension(s, p.deputy, ext_id, approve=True)
    d = ledger.demand(code)
    assert (d.deadline, d.extension_days) == (date(2025, 6, 4), 5)
    [ext] = rows(ledger, Extension, code)
    assert (ext.status, ext.approver_id) == (ExtensionStatus.APPROVED, p.deputy.id)
    assert (ext.old_deadline, ext.new_deadline) == (date(2025, 5, 27), date(2025, 6, 4))

    # 提交会签, then the four signatures in order; only the fourth closes it.
    with db.write() as s:
        demands.submit_signoff(s, p.handler, code, "已更换 3 盏路灯，恢复照明")
    check(code, Status.AWAITING_SIGNOFF)
    for party, user, signer, day in [("诉求人", p.registrar, "张群众", date(2025, 5, 30)),
                                      ("办理人", p.handler, "李办理", date(2025, 5, 30)),
                                      ("分管领导", p.deputy, "赵分管", date(2025, 6, 3))]:
        with db.write() as s:
            demands.sign(s, user, code, party, signer, signed_on=day, opinion="同意")
        d = check(code, Status.AWAITING_SIGNOFF, changed=False)
        assert d.closed_on is None
    with db.write() as s:
        demands.sign(s, p.chief, code, "主要领导", "钱主要", signed_on=date(2025, 6, 4))
    d = check(code, Status.CLOSED)
    assert d.closed_on == date(2025, 6, 4)
    signs = rows(ledger, SignOff, code)
    assert [(x.party, x.round, x.refused) for x in signs] == [
        (party, 1, False) for party in (Party.PETITIONER, Party.HANDLER, Party.DEPUTY_LEADER, Party.CHIEF_LEADER)]

    # 评价 不满意 -> 二次整改 with 7 working days from the evaluation date (Thu Jun 5):
    # Jun 6 (1), Jun 9-13 (6), Jun 16 (7).
    with db.write() as s:
        demands.evaluate(s, p.registrar, code, "不满意", method="电话回访", comment="只修了一半",
                         on=date(2025, 6, 5))
    d = check(code, Status.REWORK)
    assert (d.deadline, d.rework_count, d.closed_on, d.satisfaction) == (
        date(2025, 6, 16), 1, None, Satisfaction.UNSATISFIED)

    # Second round: handle, sign four times again, evaluate 满意.
    with db.write() as s:
        demands.add_progress(s, p.handler, code, "补装剩余路灯", done_on=date(2025, 6, 10))
        demands.submit_signoff(s, p.handler, code, "已全部修复")
    check(code, Status.AWAITING_SIGNOFF)
    ledger.sign_all(code, date(2025, 6, 12))
    d = check(code, Status.CLOSED)
    assert d.closed_on == date(2025, 6, 12)
    with db.read() as s:
        this_round = demands.signoffs_this_round(s, demands.get(s, code))
    assert [x.party for x in this_round] == [Party.PETITIONER, Party.HANDLER, Party.DEPUTY_LEADER,
                                             Party.CHIEF_LEADER]
    assert {x.round for x in this_round} == {2}
    with db.write() as s:
        demands.evaluate(s, p.registrar, code, "满意", on=date(2025, 6, 13))
    d = check(code, Status.EVALUATED)
    assert d.satisfaction is Satisfaction.SATISFIED
    assert [e.result for e in rows(ledger, Evaluation, code)] == [Satisfaction.UNSATISFIED, Satisfaction.SATISFIED]

    # 回头看 by the 纪检 supervisor: recorded, state unchanged.
    with db.write() as s:
        demands.revisit(s, p.supervisor, code, "路灯运行正常", on=date(2025, 9, 1))
    check(code, Status.EVALUATED, changed=False)
    [visit] = rows(ledger, Revisit, code)
    assert (visit.visited_on, visit.actor_id) == (date(2025, 9, 1), p.supervisor.id)

    # Every change left an audit event.
    actions = [a.action for a in rows(ledger, AuditEvent, code)]
    for action in ("register", "screen", "review", "assign", "progress", "pause", "resume", "transfer",
                   "request_extension", "decide_extension", "submit_signoff", "sign", "evaluate", "revisit"):
        assert action in actions
    assert actions.count("sign") == 8


@pytest.mark.parametrize("result", ["虚假", "不属于受理范围"])
def test_invalid_screening_closes_with_explanation(ledger, result):
    code = ledger.register()
    with ledger.db.write() as s:
        demands.screen(s, ledger.people.registrar, code, result, "已上门解释疏导，诉求人表示理解")
    d = ledger.demand(code)
    assert d.status is Status.INVALID
    assert d.screening_result is ScreeningResult.from_label(result)
    [row] = rows(ledger, Screening, code)
    assert row.explanation == "已上门解释疏导，诉求人表示理解"


def test_duplicate_screening_links_the_original(ledger):
    original = ledger.register(received=date(2025, 3, 3))
    again = ledger.register(received=date(2025, 3, 10))
    with ledger.db.write() as s:
        demands.screen(s, ledger.people.registrar, again, "重复", "与前案为同一事项，已告知办理进度",
                       duplicate_of=original)
    d, o = ledger.demand(again), ledger.demand(original)
    assert d.status is Status.INVALID
    assert d.duplicate_of_id == o.id
    assert d.is_repeat
    [row] = rows(ledger, Screening, again)
    assert (row.result, row.duplicate_of_id) == (ScreeningResult.DUPLICATE, o.id)
    assert o.status is Status.REGISTERED  # the original is untouched


@pytest.mark.parametrize("result,extra", [("虚假", {}), ("不属于受理范围", {}), ("重复", {"duplicate_of": 1})])
def test_invalid_screening_without_explanation_is_refused(ledger, result, extra):
    code = ledger.register()
    before = ledger.snapshot(code)
    with pytest.raises(ValidationError, match="解释"), ledger.db.write() as s:
        demands.screen(s, ledger.people.registrar, code, result, "  ", **extra)
    assert ledger.snapshot(code) == before


def test_duplicate_without_original_is_refused(ledger):
    code = ledger.register()
    before = ledger.snapshot(code)
    with pytest.raises(ValidationError, match="原诉求"), ledger.db.write() as s:
        demands.screen(s, ledger.people.registrar, code, "重复", "同一事项")
    assert ledger.snapshot(code) == before


@pytest.mark.parametrize("result", ["合理", "部分合理"])
def test_review_accepted_goes_to_assignment(ledger, result):
    code = ledger.register()
    ledger.advance(code, Status.SCREENED)
    with ledger.db.write() as s:
        demands.review(s, ledger.people.chief, code, result)
    d = ledger.demand(code)
    assert d.status is Status.PENDING_ASSIGNMENT
    assert d.review_result is ScreeningResult.from_label(result)


def test_review_unreasonable_closes_after_explanation(ledger):
    code = ledger.register()
    ledger.advance(code, Status.SCREENED)
    before = ledger.snapshot(code)
    with pytest.raises(ValidationError, match="解释"), ledger.db.write() as s:
        demands.review(s, ledger.people.registrar, code, "不合理")
    assert ledger.snapshot(code) == before
    with ledger.db.write() as s:
        demands.review(s, ledger.people.registrar, code, "不合理", "诉求超出政策规定，已解释")
    d = ledger.demand(code)
    assert (d.status, d.review_result) == (Status.INVALID, ScreeningResult.UNREASONABLE)
    assert rows(ledger, Screening, code)[-1].explanation == "诉求超出政策规定，已解释"


def test_consultation_answered_on_the_spot_goes_straight_to_signoff(ledger):
    # 咨询 on a working day: due the same day.
    code = ledger.register("咨询", date(2025, 3, 5))
    assert ledger.demand(code).deadline == date(2025, 3, 5)
    with ledger.db.write() as s:
        demands.answer_on_spot(s, ledger.people.handler, code, "已当场解答医保缴费政策")
    d = ledger.demand(code)
    assert d.status is Status.AWAITING_SIGNOFF
    assert d.answer == "已当场解答医保缴费政策"
    ledger.sign_all(code, date(2025, 3, 5))
    d = ledger.demand(code)
    assert (d.status, d.closed_on) == (Status.CLOSED, date(2025, 3, 5))


def test_only_a_consultation_can_be_answered_on_the_spot(ledger):
    code = ledger.register("求决")
    before = ledger.snapshot(code)
    with pytest.raises(IllegalTransition, match="咨询"), ledger.db.write() as s:
        demands.answer_on_spot(s, ledger.people.registrar, code, "答复")
    assert ledger.snapshot(code) == before


def test_petitioner_refusal_sends_back_to_handling_and_restarts_the_round(ledger):
    p = ledger.people
    code = ledger.register()
    ledger.advance(code, Status.AWAITING_SIGNOFF)
    before = ledger.snapshot(code)
    with pytest.raises(ValidationError, match="理由"), ledger.db.write() as s:
        demands.sign(s, p.registrar, code, "诉求人", "张群众", signed_on=date(2025, 3, 20), refused=True)
    assert ledger.snapshot(code) == before

    with ledger.db.write() as s:
        demands.sign(s, p.registrar, code, "诉求人", "张群众", signed_on=date(2025, 3, 20), refused=True,
                     opinion="路灯仍不亮")
    d = ledger.demand(code)
    assert (d.status, d.signoff_round, d.closed_on) == (Status.HANDLING, 2, None)
    [refusal] = rows(ledger, SignOff, code)
    assert (refusal.refused, refusal.opinion, refusal.round) == (True, "路灯仍不亮", 1)

    # Back in handling: submit again, and the new round starts with the petitioner.
    with ledger.db.write() as s:
        demands.submit_signoff(s, p.handler, code, "已再次维修")
    with ledger.db.read() as s:
        assert demands.next_party(s, demands.get(s, code)) is Party.PETITIONER
    ledger.sign_all(code, date(2025, 3, 25))
    assert ledger.demand(code).status is Status.CLOSED


def test_refusal_during_rework_returns_to_rework(ledger):
    code = ledger.register()
    ledger.advance(code, Status.REWORK)
    with ledger.db.write() as s:
        demands.submit_signoff(s, ledger.people.handler, code, "二次整改完成")
        demands.sign(s, ledger.people.registrar, code, "诉求人", "张群众", signed_on=date(2025, 3, 25),
                     refused=True, opinion="仍未解决")
    assert ledger.demand(code).status is Status.REWORK


def test_reopen_a_closed_demand_with_reason(ledger):
    p = ledger.people
    code = ledger.register()
    ledger.advance(code, Status.CLOSED, on=date(2025, 3, 20))
    before = ledger.snapshot(code)
    with pytest.raises(ValidationError, match="理由"), ledger.db.write() as s:
        demands.reopen(s, p.deputy, code, "   ")
    assert ledger.snapshot(code) == before

    # Reopened Fri 2025-04-11: a new 7-working-day clock, Apr 14-18 (5), Apr 21, 22.
    with ledger.db.write() as s:
        demands.reopen(s, p.deputy, code, "回头看发现路灯再次损坏", on=date(2025, 4, 11))
    d = ledger.demand(code)
    assert (d.status, d.closed_on, d.signoff_round) == (Status.HANDLING, None, 2)
    assert d.deadline == date(2025, 4, 22)
    [audit] = [a for a in rows(ledger, AuditEvent, code) if a.action == "reopen"]
    assert "回头看发现路灯再次损坏" in audit.summary
    assert audit.actor_id == p.deputy.id
    assert (audit.before["status"], audit.after["status"]) == ("closed", "handling")


def test_reopen_an_invalid_demand_returns_it_for_assignment(ledger):
    code = ledger.register()
    ledger.advance(code, Status.INVALID)
    with ledger.db.write() as s:
        demands.reopen(s, ledger.people.chief, code, "诉求人补充了新证据", on=date(2025, 3, 24))
    assert ledger.demand(code).status is Status.PENDING_ASSIGNMENT


def test_closed_demand_cannot_be_edited_until_reopened(ledger):
    p = ledger.people
    code = ledger.register()
    with ledger.db.write() as s:  # editable while open
        demands.edit(s, p.registrar, code, {"remarks": "诉求人为低保户"})
    ledger.advance(code, Status.CLOSED)
    before = ledger.snapshot(code)
    with pytest.raises(IllegalTransition, match="重新打开") as err, ledger.db.write() as s:
        demands.edit(s, p.registrar, code, {"content": "改写办结记录"})
    assert "已办结" in str(err.value)
    assert ledger.snapshot(code) == before

    with ledger.db.write() as s:
        demands.reopen(s, p.deputy, code, "登记内容有误需更正", on=date(2025, 3, 24))
    with ledger.db.write() as s:
        demands.edit(s, p.registrar, code, {"content": "村道 3 盏路灯损坏"})
    assert ledger.demand(code).content == "村道 3 盏路灯损坏"


def test_rejected_extension_leaves_the_deadline(ledger):
    p = ledger.people
    code = ledger.register()
    ledger.advance(code, Status.HANDLING)
    deadline = ledger.demand(code).deadline
    with ledger.db.write() as s:
        ext_id = demands.request_extension(s, p.handler, code, 3, "施工队排期").id
    with pytest.raises(IllegalTransition, match="待审批"), ledger.db.write() as s:
        demands.request_extension(s, p.handler, code, 2, "再申请一次")
    with ledger.db.write() as s:
        demands.decide_extension(s, p.chief, ext_id, approve=False)
    d = ledger.demand(code)
    assert (d.deadline, d.extension_days) == (deadline, 0)
    with pytest.raises(IllegalTransition, match="未批准"), ledger.db.write() as s:
        demands.decide_extension(s, p.deputy, ext_id, approve=True)
    assert ledger.demand(code).deadline == deadline


def test_extension_beyond_the_rule_limit_is_refused(ledger):
    # The township rule allows at most 15 working days of extension in total.
    code = ledger.register()
    ledger.advance(code, Status.HANDLING)
    before = ledger.snapshot(code)
    with pytest.raises(ValidationError, match="15"), ledger.db.write() as s:
        demands.request_extension(s, ledger.people.handler, code, 16, "工程量大")
    assert ledger.snapshot(code) == before


def test_paused_clock_blocks_submission_and_double_pause(ledger):
    p = ledger.people
    code = ledger.register()
    ledger.advance(code, Status.HANDLING)
    with ledger.db.write() as s:
        demands.pause(s, p.handler, code, "等待听证", on=date(2025, 3, 10))
    before = ledger.snapshot(code)
    with pytest.raises(IllegalTransition, match="中止"), ledger.db.write() as s:
        demands.pause(s, p.handler, code, "再次中止", on=date(2025, 3, 11))
    with pytest.raises(IllegalTransition, match="恢复计时"), ledger.db.write() as s:
        demands.submit_signoff(s, p.handler, code, "办结")
    assert ledger.snapshot(code) == before


def test_resume_without_pause_is_refused(ledger):
    code = ledger.register()
    ledger.advance(code, Status.HANDLING)
    with pytest.raises(IllegalTransition, match="没有中止"), ledger.db.write() as s:
        demands.resume(s, ledger.people.handler, code, on=date(2025, 3, 11))


def test_petition_demand_keeps_its_clock_and_reference(ledger):
    """A 信访 demand runs on 60 calendar days and pauses in calendar days."""
    with ledger.db.read() as s:
        channel_id = s.scalar(sa.text("SELECT id FROM channel WHERE name = '信访'"))
    code = ledger.register("求决", date(2025, 3, 3), channel_id=channel_id, external_ref="巴信访〔2025〕17号")
    d = ledger.demand(code)
    # Mar 3 + 60 days = May 2 (劳动节); May 3-5 are holidays too -> Tue May 6.
    assert (d.rule_set, d.external_ref, d.deadline) == ("petition", "巴信访〔2025〕17号", date(2025, 5, 6))
    ledger.advance(code, Status.HANDLING)
    with ledger.db.write() as s:
        demands.pause(s, ledger.people.handler, code, "组织听证", on=date(2025, 3, 10))
    with ledger.db.write() as s:
        demands.resume(s, ledger.people.handler, code, on=date(2025, 3, 20))
    # Paused 10 calendar days: May 6 + 10 = Fri May 16, a working day.
    assert ledger.demand(code).deadline == date(2025, 5, 16)


def test_supervision_marks_the_demand(ledger):
    code = ledger.register()
    ledger.advance(code, Status.HANDLING)
    with ledger.db.write() as s:
        demands.supervise(s, ledger.people.supervisor, code, "临近期限，请加快办理")
    d = ledger.demand(code)
    assert d.supervised and d.status is Status.HANDLING


def test_attachment_is_stored_once_by_content(ledger, tmp_path):
    code = ledger.register()
    photo = tmp_path / "现场照片.jpg"
    photo.write_bytes(b"\xff\xd8photo-bytes")
    copy = tmp_path / "同一张照片.jpg"
    copy.write_bytes(photo.read_bytes())
    files = tmp_path / "files"
    with ledger.db.write() as s:
        a = demands.attach(s, ledger.people.handler, code, photo, files, caption="维修前")
        b = demands.attach(s, ledger.people.handler, code, copy, files)
    assert a.sha256 == b.sha256
    assert (a.original_name, b.original_name) == ("现场照片.jpg", "同一张照片.jpg")
    stored = [f for f in files.rglob("*") if f.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == b"\xff\xd8photo-bytes"

"""Where each operation is allowed, what it leads to, and that a refused one writes nothing.

One shared database holds a demand in each of the nine states. Every operation is tried
on every state: in the states where the work allows it, the operation must succeed and
lead to the expected state (the transaction is then rolled back on purpose); everywhere
else it must raise ``IllegalTransition`` with a Chinese message and leave the demand,
its event rows and its audit trail exactly as they were.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.errors import IllegalTransition, PermissionDenied
from app.services import calendar, demands, settings, setup
from app.vocab import Role, Status

S = Status
ALL = frozenset(Status)
OPEN = frozenset({S.REGISTERED, S.SCREENED, S.PENDING_ASSIGNMENT, S.HANDLING, S.REWORK, S.AWAITING_SIGNOFF})
WORKING = frozenset({S.HANDLING, S.REWORK})
DONE = frozenset({S.CLOSED, S.EVALUATED})
DAY = date(2025, 3, 21)

# operation -> (states where the work allows it, the state it leads to from each of them)
# Written from DOMAIN.md and the issue, not read from app/lifecycle.py.
RULES: dict[str, tuple[frozenset[Status], dict[Status, Status]]] = {
    "edit": (OPEN, {}),  # closed records are not editable without reopening
    "screen_valid": ({S.REGISTERED}, {S.REGISTERED: S.SCREENED}),
    "screen_false": ({S.REGISTERED}, {S.REGISTERED: S.INVALID}),
    "review_reasonable": ({S.SCREENED}, {S.SCREENED: S.PENDING_ASSIGNMENT}),
    "review_unreasonable": ({S.SCREENED}, {S.SCREENED: S.INVALID}),
    "answer_on_spot": ({S.REGISTERED}, {S.REGISTERED: S.AWAITING_SIGNOFF}),
    "assign": ({S.PENDING_ASSIGNMENT}, {S.PENDING_ASSIGNMENT: S.HANDLING}),
    "transfer": (WORKING, {}),
    "progress": (WORKING | {S.AWAITING_SIGNOFF}, {}),
    "attach": (ALL - {S.INVALID}, {}),  # the signed sheet is scanned after closing
    "request_extension": (WORKING, {}),
    "pause": (WORKING, {}),
    "pause_and_resume": (WORKING, {}),
    "submit_signoff": (WORKING, {S.HANDLING: S.AWAITING_SIGNOFF, S.REWORK: S.AWAITING_SIGNOFF}),
    "sign": ({S.AWAITING_SIGNOFF}, {}),  # the first of four signatures does not close it
    "evaluate_satisfied": ({S.CLOSED}, {S.CLOSED: S.EVALUATED}),
    "evaluate_unsatisfied": ({S.CLOSED}, {S.CLOSED: S.REWORK}),
    "revisit": (DONE, {}),
    "reopen": (DONE | {S.INVALID}, {S.CLOSED: S.HANDLING, S.EVALUATED: S.HANDLING,
                                    S.INVALID: S.PENDING_ASSIGNMENT}),
    "supervise": (OPEN, {}),
}


def run(op, s, led, code, evidence):
    u, t = led.people.everyone, led.town
    return {
        "edit": lambda: demands.edit(s, u, code, {"remarks": "补充：诉求人行动不便"}),
        "screen_valid": lambda: demands.screen(s, u, code, "有效"),
        "screen_false": lambda: demands.screen(s, u, code, "虚假", "经核实不存在"),
        "review_reasonable": lambda: demands.review(s, u, code, "合理"),
        "review_unreasonable": lambda: demands.review(s, u, code, "不合理", "已解释政策"),
        "answer_on_spot": lambda: demands.answer_on_spot(s, u, code, "已当场答复"),
        "assign": lambda: demands.assign(s, u, code, t.village_units["河东社区"]),
        "transfer": lambda: demands.transfer(s, u, code, t.district_unit, "需区级部门处理"),
        "progress": lambda: demands.add_progress(s, u, code, "已现场查看", done_on=DAY),
        "attach": lambda: demands.attach(s, u, code, evidence, evidence.parent / "files"),
        "request_extension": lambda: demands.request_extension(s, u, code, 3, "需协调"),
        "pause": lambda: demands.pause(s, u, code, "等待诉求人", on=DAY),
        "pause_and_resume": lambda: (demands.pause(s, u, code, "等待诉求人", on=DAY),
                                     demands.resume(s, u, code, on=date(2025, 3, 24))),
        "submit_signoff": lambda: demands.submit_signoff(s, u, code, "已办理完毕"),
        "sign": lambda: demands.sign(s, u, code, "诉求人", "张群众", signed_on=DAY),
        "evaluate_satisfied": lambda: demands.evaluate(s, u, code, "满意", on=DAY),
        "evaluate_unsatisfied": lambda: demands.evaluate(s, u, code, "不满意", on=DAY),
        "revisit": lambda: demands.revisit(s, u, code, "情况稳定", on=DAY),
        "reopen": lambda: demands.reopen(s, u, code, "问题复发", on=DAY),
        "supervise": lambda: demands.supervise(s, u, code, "请加快办理"),
    }[op]()


@pytest.fixture(scope="module")
def states(module_ledger, tmp_path_factory):
    """A 咨询 demand in each of the nine states (咨询 can take every path, incl. 即时答复)."""
    codes = {}
    for state in Status:
        code = module_ledger.register("咨询", date(2025, 3, 3))
        module_ledger.advance(code, state, on=date(2025, 3, 20))
        assert module_ledger.demand(code).status is state
        codes[state] = code
    evidence = tmp_path_factory.mktemp("evidence") / "现场照片.jpg"
    evidence.write_bytes(b"photo")
    return codes, evidence


class _RollBack(Exception):
    pass


CASES = [(op, state) for op in RULES for state in Status]


@pytest.mark.parametrize("op,state", CASES, ids=[f"{op}-{state.value}" for op, state in CASES])
def test_operation_in_state(module_ledger, states, op, state):
    codes, evidence = states
    code = codes[state]
    allowed, leads_to = RULES[op]
    before = module_ledger.snapshot(code)
    if state in allowed:
        with pytest.raises(_RollBack), module_ledger.db.write() as s:
            run(op, s, module_ledger, code, evidence)
            assert demands.get(s, code).status is leads_to.get(state, state)
            raise _RollBack  # keep the shared database as it was
    else:
        with pytest.raises(IllegalTransition) as err, module_ledger.db.write() as s:
            run(op, s, module_ledger, code, evidence)
        message = str(err.value)
        assert re.search(r"[\u4e00-\u9fff]", message)
        assert code in message and f"“{state.label}”" in message
        if state in DONE:
            assert "重新打开" in message  # tells the user the way out
    assert module_ledger.snapshot(code) == before


def test_nothing_is_half_written(module_ledger, states):
    """A legal step followed by an illegal one in the same transaction: neither is kept."""
    codes, _ = states
    code = codes[S.HANDLING]
    before = module_ledger.snapshot(code)
    with pytest.raises(IllegalTransition), module_ledger.db.write() as s:
        demands.add_progress(s, module_ledger.people.handler, code, "已联系施工队", done_on=DAY)
        demands.evaluate(s, module_ledger.people.registrar, code, "满意", on=DAY)
    assert module_ledger.snapshot(code) == before


@pytest.mark.parametrize("first_wrong,expected_next", [
    (("办理人", "handler"), "诉求人"),
    (("分管领导", "deputy"), "诉求人"),
    (("主要领导", "chief"), "诉求人"),
])
def test_signoff_out_of_order_is_refused(module_ledger, states, first_wrong, expected_next):
    codes, _ = states
    code = codes[S.AWAITING_SIGNOFF]
    party, who = first_wrong
    before = module_ledger.snapshot(code)
    with pytest.raises(IllegalTransition) as err, module_ledger.db.write() as s:
        demands.sign(s, getattr(module_ledger.people, who), code, party, "某人", signed_on=DAY)
    assert f"下一位应为“{expected_next}”" in str(err.value)
    assert "诉求人 → 办理人 → 分管领导 → 主要领导" in str(err.value)
    assert module_ledger.snapshot(code) == before


def test_each_signature_must_follow_the_previous_one(ledger):
    p = ledger.people
    code = ledger.register()
    ledger.advance(code, S.AWAITING_SIGNOFF)
    with ledger.db.write() as s:
        demands.sign(s, p.registrar, code, "诉求人", "张群众", signed_on=DAY)
    # 分管领导 may not sign before the 办理人, nor may the petitioner sign twice.
    for user, party in [(p.deputy, "分管领导"), (p.registrar, "诉求人"), (p.chief, "主要领导")]:
        before = ledger.snapshot(code)
        with pytest.raises(IllegalTransition, match="下一位应为“办理人”"), ledger.db.write() as s:
            demands.sign(s, user, code, party, "某人", signed_on=DAY)
        assert ledger.snapshot(code) == before
    with ledger.db.write() as s:
        demands.sign(s, p.handler, code, "办理人", "李办理", signed_on=DAY)
    with pytest.raises(IllegalTransition, match="下一位应为“分管领导”"), ledger.db.write() as s:
        demands.sign(s, p.chief, code, "主要领导", "钱主要", signed_on=DAY)
    with ledger.db.write() as s:
        demands.sign(s, p.deputy, code, "分管领导", "赵分管", signed_on=DAY)
        demands.sign(s, p.chief, code, "主要领导", "钱主要", signed_on=DAY)
    assert ledger.demand(code).status is S.CLOSED
    with pytest.raises(IllegalTransition, match="已办结"), ledger.db.write() as s:  # no fifth signature
        demands.sign(s, p.chief, code, "主要领导", "钱主要", signed_on=DAY)


def test_pending_extension_cannot_be_decided_after_closing(ledger):
    p = ledger.people
    code = ledger.register()
    ledger.advance(code, S.HANDLING)
    with ledger.db.write() as s:
        ext_id = demands.request_extension(s, p.handler, code, 2, "等待材料").id
        demands.submit_signoff(s, p.handler, code, "已办结")
    ledger.sign_all(code, DAY)
    before = ledger.snapshot(code)
    with pytest.raises(IllegalTransition, match="已办结"), ledger.db.write() as s:
        demands.decide_extension(s, p.deputy, ext_id, approve=True)
    assert ledger.snapshot(code) == before


# -- permissions -------------------------------------------------------------------------


def _perm_cases():
    """(operation, state it needs, who tries it, roles the refusal must name)."""
    DEP, CHI, REG, HAN, SUP, ADM = "分管领导", "主要领导", "登记员", "办理人", "督办", "管理员"
    return [
        ("register", S.REGISTERED, "handler", [REG]),
        ("edit", S.REGISTERED, "supervisor", [REG]),
        ("screen", S.REGISTERED, "handler", [REG]),
        ("review", S.SCREENED, "handler", [REG, DEP, CHI]),
        ("answer_on_spot", S.REGISTERED, "supervisor", [REG, HAN]),
        ("assign", S.PENDING_ASSIGNMENT, "handler", [REG, DEP, CHI]),
        ("transfer", S.HANDLING, "supervisor", [REG, HAN, DEP, CHI]),
        ("progress", S.HANDLING, "deputy", [HAN, REG]),
        ("request_extension", S.HANDLING, "chief", [HAN, REG]),
        ("decide_extension", S.HANDLING, "registrar", [DEP, CHI]),
        ("decide_extension", S.HANDLING, "handler", [DEP, CHI]),
        ("pause", S.HANDLING, "supervisor", [HAN, REG, DEP, CHI]),
        ("submit_signoff", S.HANDLING, "chief", [HAN, REG]),
        ("sign_petitioner", S.AWAITING_SIGNOFF, "deputy", [REG, HAN]),
        ("sign_deputy", S.AWAITING_SIGNOFF, "chief", [DEP]),
        ("sign_deputy", S.AWAITING_SIGNOFF, "registrar", [DEP]),
        ("sign_chief", S.AWAITING_SIGNOFF, "deputy", [CHI]),
        ("evaluate", S.CLOSED, "supervisor", [REG, HAN]),
        ("revisit", S.CLOSED, "handler", [REG, SUP, DEP, CHI]),
        ("reopen", S.CLOSED, "registrar", [DEP, CHI]),
        ("reopen", S.CLOSED, "admin", [DEP, CHI]),
        ("supervise", S.HANDLING, "handler", [SUP, DEP, CHI]),
        ("screen", S.REGISTERED, "nobody", [REG]),
        ("screen", S.REGISTERED, "retired", [REG]),  # a deactivated account has no rights left
        ("settings", None, "registrar", [ADM]),
        ("users", None, "chief", [ADM]),
        ("holidays", None, "handler", [ADM, REG]),
    ]


def attempt(op, s, led, user, code, ext_id):
    t = led.town
    return {
        "register": lambda: demands.register(s, user, demands.DemandInput("求决", "路灯坏了", date(2025, 3, 3))),
        "edit": lambda: demands.edit(s, user, code, {"remarks": "x"}),
        "screen": lambda: demands.screen(s, user, code, "有效"),
        "review": lambda: demands.review(s, user, code, "合理"),
        "answer_on_spot": lambda: demands.answer_on_spot(s, user, code, "已答复"),
        "assign": lambda: demands.assign(s, user, code, t.township_unit),
        "transfer": lambda: demands.transfer(s, user, code, t.district_unit, "上移"),
        "progress": lambda: demands.add_progress(s, user, code, "进展", done_on=DAY),
        "request_extension": lambda: demands.request_extension(s, user, code, 2, "理由"),
        "decide_extension": lambda: demands.decide_extension(s, user, ext_id, approve=True),
        "pause": lambda: demands.pause(s, user, code, "等待", on=DAY),
        "submit_signoff": lambda: demands.submit_signoff(s, user, code, "结果"),
        "sign_petitioner": lambda: demands.sign(s, user, code, "诉求人", "张群众", signed_on=DAY),
        "sign_deputy": lambda: demands.sign(s, user, code, "分管领导", "赵分管", signed_on=DAY),
        "sign_chief": lambda: demands.sign(s, user, code, "主要领导", "钱主要", signed_on=DAY),
        "evaluate": lambda: demands.evaluate(s, user, code, "满意", on=DAY),
        "revisit": lambda: demands.revisit(s, user, code, "稳定", on=DAY),
        "reopen": lambda: demands.reopen(s, user, code, "复发", on=DAY),
        "supervise": lambda: demands.supervise(s, user, code, "督办"),
        "settings": lambda: settings.put(s, user, "due_soon_days", 5),
        "users": lambda: setup.add_user(s, user, "newbie", "新人", [Role.HANDLER], "secret"),
        "holidays": lambda: calendar.set_day(s, user, date(2027, 1, 1), False, "元旦"),
    }[op]()


@pytest.fixture(scope="module")
def perm_demands(module_ledger):
    """Separate demands (not shared with the state matrix) in the states permissions need."""
    led = module_ledger
    codes = {}
    for state in (S.REGISTERED, S.SCREENED, S.PENDING_ASSIGNMENT, S.HANDLING, S.AWAITING_SIGNOFF, S.CLOSED):
        code = led.register("咨询", date(2025, 3, 4))
        led.advance(code, state)
        codes[state] = code
    with led.db.write() as s:
        ext_id = demands.request_extension(s, led.people.handler, codes[S.HANDLING], 2, "等待材料").id
    return codes, ext_id


def _whole_db(led):
    import sqlalchemy as sa

    with led.db.read() as s:
        tables = ("demand", "audit_event", "user", "setting", "holiday", "extension", "signoff")
        return {t: s.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in tables}


@pytest.mark.parametrize("op,state,who,roles", _perm_cases(),
                         ids=[f"{c[0]}-by-{c[2]}" for c in _perm_cases()])
def test_operation_refused_without_the_role(module_ledger, perm_demands, op, state, who, roles):
    codes, ext_id = perm_demands
    user = getattr(module_ledger.people, who)
    before = _whole_db(module_ledger)
    with pytest.raises(PermissionDenied) as err, module_ledger.db.write() as s:
        attempt(op, s, module_ledger, user, codes.get(state), ext_id)
    message = str(err.value)
    assert f"用户“{user.name}”无权" in message
    for role in roles:
        assert f"“{role}”" in message
    assert _whole_db(module_ledger) == before


def test_no_user_is_refused(module_ledger, perm_demands):
    codes, _ = perm_demands
    with pytest.raises(PermissionDenied, match=r"未登录用户.*“登记员”"), module_ledger.db.write() as s:
        demands.screen(s, None, codes[S.REGISTERED], "有效")


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_holder_of_the_role_may_supervise_only_if_supervisor_or_leader(module_ledger, perm_demands, role):
    """督办 is for the 纪检 supervisor and the leaders; the same role table answers for every user."""
    codes, _ = perm_demands
    user = module_ledger.people.by_role()[role]
    may = role in (Role.SUPERVISOR, Role.DEPUTY_LEADER, Role.CHIEF_LEADER)
    if may:
        with pytest.raises(_RollBack), module_ledger.db.write() as s:
            demands.supervise(s, user, codes[S.HANDLING], "请按期办结")
            raise _RollBack
    else:
        with pytest.raises(PermissionDenied, match="“督办”"), module_ledger.db.write() as s:
            demands.supervise(s, user, codes[S.HANDLING], "请按期办结")

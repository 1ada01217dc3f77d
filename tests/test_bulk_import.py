"""Bulk registration: ``register_many`` gives exactly what a run of ``register`` calls gives.

The same items go into two identical databases: one demand at a time through
``register`` (each in its own transaction, so every look-up reads the database), and all
at once through ``register_many`` (one transaction, look-ups in memory). Case numbers,
petitioners (found by phone, else by name and address, created once, kept up to date),
repeat flags, rule sets, deadlines, audit events and evaluations must be identical.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Ledger, make_ledger

from app import deadlines
from app.models import AuditEvent, CaseCounter, Channel, Demand, Evaluation, Petitioner
from app.personal import normalise_phone
from app.services import demands, settings, setup
from app.services.audit import record, snapshot
from app.services.calendar import load_calendar
from app.services.demands import DemandInput, ItemError, LedgerHistory
from app.vocab import RuleSet, Satisfaction, Status

TODAY = date(2025, 6, 30)


def items_for(led: Ledger) -> list[DemandInput]:
    """Items exercising every rule registration applies; ids are the same in every test database."""
    v = led.town.villages
    with led.db.read() as s:
        hotline = s.scalar(sa.select(Channel.id).where(Channel.name == "12345热线"))
        visit = s.scalar(sa.select(Channel.id).where(Channel.name == "来访"))
    assert hotline and visit

    def item(content: str, received: date, **kw: Any) -> DemandInput:
        return DemandInput(type=kw.pop("type", "求决"), content=content, received_on=received, **kw)

    return [
        # The same phone written three ways: one petitioner; the second within 10 days is a repeat.
        item("路灯损坏", date(2025, 3, 3), petitioner_name="张三", petitioner_phone="138 0013 8000",
             petitioner_address="柳树村3组", village_id=v["柳树村"], grid_id=led.town.grids["一组网格"]),
        item("路灯又坏", date(2025, 3, 10), petitioner_name="张三丰", petitioner_phone="138-0013-8000",
             village_id=v["柳树村"], channel_id=visit),
        item("路灯第三次坏", date(2025, 5, 1), petitioner_phone="+86 13800138000", type="投诉"),
        # Name and address, no phone: found again by both; a name alone is a new person each time.
        item("沟渠堵塞", date(2025, 3, 4), petitioner_name="李四", petitioner_address="青山村1组",
             village_id=v["青山村"], type="建议"),
        item("沟渠又堵", date(2025, 3, 5), petitioner_name="李四", petitioner_address="青山村1组", type="咨询"),
        item("问低保", date(2025, 3, 5), petitioner_name="王五"),
        item("再问低保", date(2025, 3, 6), petitioner_name="王五"),
        # No name, no phone: no petitioner at all.
        item("匿名反映噪声", date(2025, 3, 7), petitioner_address="河东社区"),
        # The petitioner already in the database (registered before), renamed and moved by this one.
        item("老问题", date(2025, 3, 8), petitioner_name="赵六（改）", petitioner_phone="13900001111",
             petitioner_address="河东社区5栋", village_id=v["河东社区"]),
        # Out of date order: received before an earlier item of the list, so not a repeat of it.
        item("更早的一件", date(2025, 3, 1), petitioner_phone="13800138000", type="咨询"),
        # Another year, interleaved with this one: each year has its own numbers.
        item("去年的事", date(2024, 12, 30), petitioner_name="孙七", petitioner_phone="0827-5212345"),
        item("今年的事", date(2025, 1, 2), petitioner_name="孙七", petitioner_phone="08275212345"),
        # Rule sets: from the channel (12345) and asked for (信访).
        item("热线转来", date(2025, 4, 1), channel_id=hotline, external_ref="SC12345-001",
             petitioner_name="周八", petitioner_phone="13700001234"),
        item("信访件", date(2025, 4, 2), rule_set="信访", petitioner_name="吴九", petitioner_phone="13700001235",
             type="投诉"),
        # An old ledger's row: with a unit, closed and evaluated on paper.
        item("旧台账已办结", date(2025, 2, 3), petitioner_name="郑十", petitioner_phone="13700001236",
             history=LedgerHistory("导入自 旧.xlsx，工作表“台账”，第 9 行", {"row": 9},
                                   unit_id=led.town.village_units["柳树村"], closed=True,
                                   closed_on=date(2025, 2, 20), result_summary="已疏通",
                                   satisfaction=Satisfaction.BASICALLY)),
        item("旧台账未办结", date(2025, 2, 4), petitioner_name="郑十", petitioner_phone="13700001236",
             history=LedgerHistory("导入自 旧.xlsx，工作表“台账”，第 10 行", {"row": 10},
                                   unit_id=led.town.office_unit)),
    ]


def prepare(led: Ledger) -> None:
    """What both databases hold before: a petitioner with a demand, and a 2025 counter at 1."""
    with led.db.write() as s:
        settings.put(s, None, "repeat_window_days", 10, check=False)
    led.register(received=date(2025, 2, 27), name="赵六", phone="13900001111", address="河东社区2栋",
                 village="河东社区")


def contents(led: Ledger) -> dict[str, Any]:
    """Everything registration writes, in a comparable form (timestamps left out)."""
    def rows(model: Any, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        with led.db.read() as s:
            cols = [c for c in model.__table__.columns if c.name not in skip]
            return [dict(r._mapping) for r in s.execute(sa.select(*cols).order_by(*model.__table__.primary_key))]

    return {
        "demands": rows(Demand, ("created_at", "updated_at")),
        "petitioners": rows(Petitioner, ("created_at",)),
        "audit": rows(AuditEvent, ("at",)),
        "evaluations": rows(Evaluation, ("at",)),
        "counters": rows(CaseCounter),
    }


@pytest.fixture
def twins(tmp_path: Path):
    one, many = make_ledger(tmp_path / "one.sqlite"), make_ledger(tmp_path / "many.sqlite")
    prepare(one)
    prepare(many)
    yield one, many
    one.db.dispose()
    many.db.dispose()


def test_register_many_equals_repeated_register(twins: tuple[Ledger, Ledger]) -> None:
    one, many = twins
    items = items_for(one)
    for data in items:
        with one.db.write() as s:
            demands.register(s, one.people.registrar, data, today=TODAY)
    with many.db.write() as s:
        ids = demands.register_many(s, many.people.registrar, items_for(many), today=TODAY)
    assert len(ids) == len(items)

    a, b = contents(one), contents(many)
    assert a == b
    # ... and what they agree on is right.
    d = {r["content"]: r for r in b["demands"]}
    assert [r["code"] for r in b["demands"]][:3] == ["511902001-2025-00001", "511902001-2025-00002",
                                                      "511902001-2025-00003"]
    assert d["去年的事"]["code"] == "511902001-2024-00001"
    assert {r["year"]: r["last_seq"] for r in b["counters"]} == {2024: 1, 2025: len(items)}
    assert d["路灯又坏"]["petitioner_id"] == d["路灯损坏"]["petitioner_id"] == d["路灯第三次坏"]["petitioner_id"]
    assert d["路灯又坏"]["is_repeat"] and not d["路灯损坏"]["is_repeat"]
    assert not d["路灯第三次坏"]["is_repeat"]  # more than 10 days after the one before
    assert d["路灯损坏"]["is_repeat"] is False and d["更早的一件"]["is_repeat"] is False
    assert d["沟渠又堵"]["petitioner_id"] == d["沟渠堵塞"]["petitioner_id"] and d["沟渠又堵"]["is_repeat"]
    assert d["再问低保"]["petitioner_id"] != d["问低保"]["petitioner_id"]
    assert d["匿名反映噪声"]["petitioner_id"] is None
    assert d["今年的事"]["petitioner_id"] == d["去年的事"]["petitioner_id"] and d["今年的事"]["is_repeat"]
    assert d["老问题"]["is_repeat"]  # the demand already in the database, 9 days before
    assert (d["热线转来"]["rule_set"], d["信访件"]["rule_set"], d["路灯损坏"]["rule_set"]) == \
        ("hotline", "petition", "township")
    people = {p["id"]: p for p in b["petitioners"]}
    assert people[d["路灯损坏"]["petitioner_id"]]["name"] == "张三丰"  # the later name wins
    assert people[d["路灯损坏"]["petitioner_id"]]["address"] == "柳树村3组"  # an empty one does not
    assert people[d["老问题"]["petitioner_id"]]["address"] == "河东社区5栋"
    assert len(b["petitioners"]) == 9
    closed, open_ = d["旧台账已办结"], d["旧台账未办结"]
    assert (closed["status"], closed["closed_on"], closed["satisfaction"]) == \
        (Status.EVALUATED, date(2025, 2, 20), Satisfaction.BASICALLY)
    assert closed["unit_id"] == one.town.village_units["柳树村"] and closed["first_level"] == closed["level"]
    assert (open_["status"], open_["closed_on"], open_["first_level"]) == (Status.REGISTERED, None, None)
    assert open_["unit_id"] == one.town.office_unit and open_["level"] is not None
    assert [(e["result"], e["method"], e["evaluated_on"]) for e in b["evaluations"]] == \
        [(Satisfaction.BASICALLY, "原台账", date(2025, 2, 20))]
    actions = [e["action"] for e in b["audit"] if e["demand_id"] in ids]
    assert actions.count("register") == len(items) and actions.count("import") == 2


def legacy_register(session: Any, actor: Any, data: DemandInput, today: date) -> Demand:
    """The one-at-a-time ORM registration ``register`` was before ``register_many`` (the oracle)."""
    dtype = demands.validate(session, data, today)
    town = setup.township(session)
    petitioner = None
    phone = normalise_phone(data.petitioner_phone)
    name, address = data.petitioner_name.strip(), data.petitioner_address.strip()
    if phone or name:
        if phone:
            petitioner = session.scalars(sa.select(Petitioner).where(Petitioner.phone == phone)).first()
        elif name and address:
            petitioner = session.scalars(sa.select(Petitioner).where(Petitioner.name == name,
                                                                     Petitioner.address == address)).first()
        if petitioner is None:
            petitioner = Petitioner(name=name, phone=phone, address=address, village_id=data.village_id)
            session.add(petitioner)
            session.flush()
        else:
            petitioner.name = name or petitioner.name
            petitioner.address = address or petitioner.address
            petitioner.village_id = data.village_id or petitioner.village_id
    rule_set = data.rule_set and RuleSet.from_label(data.rule_set).value
    if not rule_set:
        channel = session.get(Channel, data.channel_id) if data.channel_id else None
        rule_set = demands.CHANNEL_RULE_SETS.get(channel.name if channel else "", RuleSet.TOWNSHIP).value
    due = deadlines.due_date(load_calendar(session), settings.get(session, "deadline_rules"), rule_set,
                             dtype.value, data.received_on)
    window = int(settings.get(session, "repeat_window_days"))
    repeat = bool(session.scalars(sa.select(Demand.id).where(
        Demand.petitioner_id == petitioner.id, Demand.received_on <= data.received_on,
        Demand.received_on >= data.received_on - timedelta(days=window))).first()) if petitioner else False
    year = data.received_on.year
    seq = session.execute(sa.update(CaseCounter).where(CaseCounter.township_id == town.id, CaseCounter.year == year)
                          .values(last_seq=CaseCounter.last_seq + 1).returning(CaseCounter.last_seq)).scalar()
    if seq is None:
        session.add(CaseCounter(township_id=town.id, year=year, last_seq=1))
        session.flush()
        seq = 1
    demand = Demand(
        code=f"{town.code}-{year}-{seq:05d}", township_id=town.id, type=dtype, category_id=data.category_id,
        channel_id=data.channel_id, content=data.content.strip(), received_on=data.received_on,
        village_id=data.village_id, grid_id=data.grid_id, petitioner_id=petitioner.id if petitioner else None,
        registrar_id=actor.id, status=Status.REGISTERED, rule_set=rule_set, external_ref=data.external_ref.strip(),
        deadline=due.due, deadline_provisional=due.provisional, is_repeat=repeat, remarks=data.remarks.strip(),
        original_no=data.original_no.strip())
    session.add(demand)
    session.flush()
    record(session, actor, "register", "demand", demand.id, demand_id=demand.id, summary=f"受理登记 {demand.code}",
           after=snapshot(demand, demands.TRACKED))
    return demand


def test_register_many_matches_the_original_one_at_a_time_code(twins: tuple[Ledger, Ledger]) -> None:
    """The same items (without ledger history, which the old code did not know) through the
    old ORM code, one transaction each, and through ``register_many``: the same database."""
    old, new = twins
    items = items_for(old)
    for data in items:
        data.history = None
        with old.db.write() as s:
            legacy_register(s, old.people.registrar, data, TODAY)
    plain = items_for(new)
    for data in plain:
        data.history = None
    with new.db.write() as s:
        demands.register_many(s, new.people.registrar, plain, today=TODAY)
    a, b = contents(old), contents(new)
    for table in a:
        assert a[table] == b[table], table


def test_a_bad_item_writes_nothing(twins: tuple[Ledger, Ledger]) -> None:
    _, led = twins
    before = contents(led)
    items = items_for(led)
    items[3].petitioner_phone = "1380013"
    with pytest.raises(ItemError) as err, led.db.write() as s:
        demands.register_many(s, led.people.registrar, items, today=TODAY)
    assert err.value.index == 3 and err.value.item_field == "联系方式"
    assert str(err.value).startswith("第 4 条·联系方式：")
    assert contents(led) == before


@pytest.mark.parametrize(("change", "field"), [
    ({"content": "  "}, "诉求内容"),
    ({"type": "催办"}, "诉求类型"),
    ({"received_on": date(2025, 7, 1)}, "受理日期"),
    ({"grid_id": -1}, "网格"),
    ({"channel_id": 9999}, "诉求来源"),
    ({"history": LedgerHistory("x", closed=True, closed_on=date(2025, 1, 1))}, "办结日期"),
    ({"history": LedgerHistory("x", satisfaction=Satisfaction.SATISFIED)}, "满意度"),
])
def test_every_item_is_checked_before_anything_is_written(twins: tuple[Ledger, Ledger], change: dict[str, Any],
                                                         field: str) -> None:
    _, led = twins
    before = contents(led)
    items = items_for(led)
    for key, value in change.items():
        setattr(items[-1], key, value)
    with pytest.raises(ItemError) as err, led.db.write() as s:
        demands.register_many(s, led.people.registrar, items, today=TODAY)
    assert err.value.index == len(items) - 1 and err.value.item_field == field
    assert contents(led) == before


def test_progress_and_cancel_between_batches(twins: tuple[Ledger, Ledger], monkeypatch: pytest.MonkeyPatch) -> None:
    _, led = twins
    monkeypatch.setattr(demands, "CHUNK", 5)
    seen: list[tuple[int, int]] = []
    with led.db.write() as s:
        ids = demands.register_many(s, led.people.registrar, items_for(led), today=TODAY,
                                    on_progress=lambda done, total: seen.append((done, total)))
    n = len(ids)
    assert seen == [(k, n) for k in (5, 10, 15, n)]
    before = contents(led)
    calls = iter([False, True])
    with pytest.raises(demands.RegistrationCancelled), led.db.write() as s:
        demands.register_many(s, led.people.registrar, items_for(led), today=TODAY, cancelled=lambda: next(calls))
    assert contents(led) == before


def test_register_many_needs_the_role(twins: tuple[Ledger, Ledger]) -> None:
    from app.errors import PermissionDenied

    _, led = twins
    with pytest.raises(PermissionDenied), led.db.write() as s:
        demands.register_many(s, led.people.handler, items_for(led), today=TODAY)

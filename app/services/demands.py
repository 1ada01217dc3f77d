"""Operations on demands: registration and every step of the lifecycle.

Each function checks the actor's role (``access.require``) and the state machine
(``lifecycle``), changes the demand, writes its event row and an audit event. The
caller's ``Database.write()`` block commits all of it or none of it.
"""

from __future__ import annotations

import hashlib
import shutil
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import access, deadlines, lifecycle
from app.errors import ConflictError, DomainError, IllegalTransition, NotFound, ValidationError
from app.models import (
    Assignment,
    Attachment,
    AuditEvent,
    CaseCounter,
    Category,
    Channel,
    Demand,
    Evaluation,
    Extension,
    Grid,
    Pause,
    Petitioner,
    ProgressEntry,
    Revisit,
    Screening,
    SignOff,
    Supervision,
    Unit,
    User,
    Village,
)
from app.models.base import now
from app.personal import normalise_phone, phone_problem
from app.services import settings
from app.services.audit import record, snapshot
from app.services.calendar import load_calendar
from app.services.setup import township
from app.vocab import (
    INITIAL_RESULTS,
    LEVEL_ORDER,
    PARTY_ORDER,
    REVIEW_RESULTS,
    AssignmentKind,
    DemandType,
    ExtensionStatus,
    Level,
    Party,
    RuleSet,
    Satisfaction,
    ScreeningResult,
    ScreeningStage,
    Status,
)

TRACKED = ["status", "deadline", "deadline_provisional", "unit_id", "level", "paused_since",
           "closed_on", "satisfaction", "extension_days", "transfer_count", "rework_count"]
CHANNEL_RULE_SETS = {"12345热线": RuleSet.HOTLINE, "信访": RuleSet.PETITION}


# -- loading ---------------------------------------------------------------------


def get(session: Session, ref: int | str | Demand, expected_version: int | None = None) -> Demand:
    if isinstance(ref, Demand) and ref in session:
        demand = ref
    elif isinstance(ref, Demand):
        # A copy loaded by another (closed) session: changing it here would be silently
        # lost. Work on this session's row, expecting the version the copy was loaded at.
        state = sa.inspect(ref)
        if expected_version is None:
            expected_version = state.dict.get("version")
        demand = session.get(Demand, state.identity[0]) if state.identity else None
    elif isinstance(ref, int):
        demand = session.get(Demand, ref)
    else:
        demand = session.scalars(sa.select(Demand).where(Demand.code == ref.strip())).first()
    if demand is None:
        raise NotFound(f"找不到诉求“{ref}”")
    if expected_version is not None and demand.version != expected_version:
        raise ConflictError(
            f"诉求 {demand.code} 已被其他人修改（版本 {expected_version} → {demand.version}），"
            "请刷新后再操作；您的修改未保存"
        )
    return demand


def _rules(session: Session) -> dict[str, Any]:
    return settings.get(session, "deadline_rules")


def _today(on: date | None) -> date:
    return on or date.today()


def _step(session: Session, actor: User | None, demand: Demand, action: str, operation: str,
          summary: str, before: dict[str, Any] | None = None) -> None:
    """Audit one step with the tracked fields before and after."""
    record(session, actor, action, "demand", demand.id, demand_id=demand.id, summary=summary,
           before=before, after=snapshot(demand, TRACKED))


# -- registration ------------------------------------------------------------------
#
# ``register`` is ``register_many`` with one item, so a demand typed in at the desk and a
# row of an imported ledger follow the same rules, written once below: validation, the
# petitioner found by phone (else by name and address) or created, the repeat flag, the
# rule set and deadline, the gap-free case number, and the audit events.

CHUNK = 2000  # rows per INSERT batch; progress is reported and cancelling checked between batches
_IN_CHUNK = 500  # values per ``IN (...)`` look-up
HISTORY_CLOSED_NOTE = "原台账记录为已办结，四方会签为纸质存档"
HISTORY_METHOD = "原台账"  # the method of an evaluation the old ledger recorded


@dataclass(slots=True)
class LedgerHistory:
    """What a row of an old ledger brings besides the registration (the importer fills it in).

    ``summary`` and ``details`` become the demand's "imported from" event. A row the old
    ledger records as 办结 (``closed``) is registered as closed: its four-party sign-off
    is on paper, so it has no sign-off rows, and its satisfaction, when the ledger has
    one, becomes an evaluation made by the old ledger. History is not reopened: a
    不满意 is recorded as it was, without sending the demand to 二次整改.
    """

    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    unit_id: int | None = None
    closed: bool = False
    closed_on: date | None = None  # None with ``closed``: the deadline, or the receipt day, stands in
    result_summary: str = ""
    satisfaction: Satisfaction | None = None
    satisfaction_text: str = ""  # the old ledger's own words when they differ from the label


@dataclass(slots=True)
class DemandInput:
    type: DemandType | str
    content: str
    received_on: date | None = None
    category_id: int | None = None
    channel_id: int | None = None
    village_id: int | None = None
    grid_id: int | None = None
    petitioner_name: str = ""
    petitioner_phone: str = ""
    petitioner_address: str = ""
    remarks: str = ""
    rule_set: str | None = None
    external_ref: str = ""
    original_no: str = ""
    history: LedgerHistory | None = None  # an imported row only


class ItemError(ValidationError):
    """A refused item of ``register_many``: which one (``index``, from 0), which field, why."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(f"第 {index + 1} 条·{field}", message)
        self.index, self.item_field = index, field


class RegistrationCancelled(DomainError):
    def __init__(self) -> None:
        super().__init__("已取消登记，未写入任何内容")


def rule_set_for(label: str | None, channel_name: str = "") -> str:
    """The clock a demand runs on: the one asked for, else its channel's (12345, 信访), else the township's."""
    if label:
        return RuleSet.from_label(label).value
    return CHANNEL_RULE_SETS.get(channel_name, RuleSet.TOWNSHIP).value


def repeat_window_start(received: date, window_days: int) -> date:
    """The first day on which an earlier demand of the same petitioner makes this one a repeat."""
    return received - timedelta(days=window_days)


def _rows_in(session: Session, columns: tuple[Any, ...], key: Any, values: Any, *where: Any) -> Iterator[Any]:
    """``SELECT columns WHERE key IN values`` in chunks (a big import asks for thousands)."""
    values = list(values)
    for start in range(0, len(values), _IN_CHUNK):
        yield from session.execute(sa.select(*columns).where(key.in_(values[start:start + _IN_CHUNK]), *where))


class _Lists:
    """What registering looks up, read once per call: the township, the deadline rules and
    calendar, the repeat window, and the list entries the items refer to."""

    def __init__(self, session: Session, items: list[DemandInput]) -> None:
        town = township(session)
        self.town_id, self.town_code = town.id, town.code
        self.rules = _rules(session)
        self.calendar = load_calendar(session)
        self.window = int(settings.get(session, "repeat_window_days"))

        def used(attr: str) -> set[int]:
            return {v for d in items if (v := getattr(d, attr)) is not None}

        self.villages = {v for (v,) in _rows_in(session, (Village.id,), Village.id, used("village_id"))}
        self.grids = dict(_rows_in(session, (Grid.id, Grid.village_id), Grid.id, used("grid_id")))
        self.categories = {c for (c,) in _rows_in(session, (Category.id,), Category.id, used("category_id"))}
        self.channels = dict(_rows_in(session, (Channel.id, Channel.name), Channel.id, used("channel_id")))
        unit_ids = {d.history.unit_id for d in items if d.history is not None and d.history.unit_id is not None}
        self.units: dict[int, Level] = dict(_rows_in(session, (Unit.id, Unit.level), Unit.id, unit_ids))
        self._due: dict[tuple[str, str, date], deadlines.Deadline] = {}

    def rule_set(self, data: DemandInput) -> str:
        return rule_set_for(data.rule_set, self.channels.get(data.channel_id, "") if data.channel_id else "")

    def deadline(self, rule_set: str, dtype: DemandType, received: date) -> deadlines.Deadline:
        key = (rule_set, dtype.value, received)
        due = self._due.get(key)
        if due is None:
            due = self._due[key] = deadlines.due_date(self.calendar, self.rules, rule_set, dtype.value, received)
        return due


def validate(session: Session, data: DemandInput, today: date) -> DemandType:
    """Check one demand's fields; raises ValidationError naming the field."""
    return _check(data, today, _Lists(session, [data]))


def _check(data: DemandInput, today: date, lists: _Lists) -> DemandType:
    try:
        dtype = data.type if isinstance(data.type, DemandType) else DemandType.from_label(str(data.type))
    except ValueError:
        raise ValidationError("诉求类型", f"“{data.type}”应为 咨询/建议/求决/投诉 之一") from None
    if not (data.content or "").strip():
        raise ValidationError("诉求内容", "不能为空")
    if data.received_on is None:
        raise ValidationError("受理日期", "不能为空")
    if data.received_on > today:
        raise ValidationError("受理日期", f"{data.received_on} 晚于今天，不能是将来的日期")
    problem = phone_problem(data.petitioner_phone)
    if problem:
        raise ValidationError("联系方式", problem)
    if data.village_id is not None and data.village_id not in lists.villages:
        raise ValidationError("村(社区)", "不存在")
    if data.grid_id is not None:
        village = lists.grids.get(data.grid_id)
        if village is None or (data.village_id is not None and village != data.village_id):
            raise ValidationError("网格", "不属于所选村(社区)")
    if data.category_id is not None and data.category_id not in lists.categories:
        raise ValidationError("诉求类别", "不存在")
    if data.channel_id is not None and data.channel_id not in lists.channels:
        raise ValidationError("诉求来源", "不存在")
    if data.rule_set:
        try:
            RuleSet.from_label(data.rule_set)
        except ValueError:
            raise ValidationError("时限规则", f"“{data.rule_set}”不存在") from None
    h = data.history
    if h is not None:
        if h.unit_id is not None and h.unit_id not in lists.units:
            raise ValidationError("责任单位", "不存在")
        if h.closed_on is not None and not h.closed:
            raise ValidationError("办结日期", "未记为办结的诉求不能有办结日期")
        if h.closed_on is not None and h.closed_on > today:
            raise ValidationError("办结日期", f"{h.closed_on} 晚于今天，不能是将来的日期")
        if h.closed_on is not None and h.closed_on < data.received_on:
            raise ValidationError("办结日期", f"{h.closed_on} 早于受理日期 {data.received_on}")
        if h.satisfaction is not None and not h.closed:
            raise ValidationError("满意度", "未办结的诉求不能有评价")
    return dtype


def find_petitioner(session: Session, phone: str, name: str, address: str) -> Petitioner | None:
    """The same person: by normalised phone, else by name and address (the earliest entry)."""
    phone = normalise_phone(phone)
    if phone:
        return session.scalars(sa.select(Petitioner).where(Petitioner.phone == phone)
                               .order_by(Petitioner.id)).first()
    if name and address:
        return session.scalars(
            sa.select(Petitioner).where(Petitioner.name == name, Petitioner.address == address)
            .order_by(Petitioner.id)
        ).first()
    return None


def earlier_demands(session: Session, petitioner_id: int, before: date, window_days: int | None = None,
                    exclude_id: int | None = None) -> list[Demand]:
    q = sa.select(Demand).where(Demand.petitioner_id == petitioner_id, Demand.received_on <= before)
    if window_days is not None:
        q = q.where(Demand.received_on >= repeat_window_start(before, window_days))
    if exclude_id is not None:
        q = q.where(Demand.id != exclude_id)
    return list(session.scalars(q.order_by(Demand.received_on.desc(), Demand.id.desc())))


class _People:
    """The petitioners of a batch, as a run of single registrations would see them.

    Found as ``find_petitioner`` finds them (the lowest id when several match); a new one
    is created once and found by the later items; each demand brings its petitioner's
    name, address and village up to date. Loaded with the dates of their demands in the
    repeat window, so the repeat flag counts earlier items of the same batch too.
    """

    _COLUMNS = (Petitioner.id, Petitioner.name, Petitioner.phone, Petitioner.address, Petitioner.village_id)

    def __init__(self, session: Session, items: list[DemandInput], window: int) -> None:
        self.rows: dict[int, list[Any]] = {}  # id -> [name, phone, address, village_id]
        self.original: dict[int, tuple[Any, ...]] = {}
        self.by_phone: dict[str, int] = {}
        self.by_pair: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.new: list[int] = []
        phones: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        for d in items:
            phone, name, address = _person(d)
            if phone:
                phones.add(phone)
            elif name and address:
                pairs.add((name, address))
        for row in _rows_in(session, self._COLUMNS, Petitioner.phone, phones):
            self._load(row)
        for row in _rows_in(session, self._COLUMNS, Petitioner.name, {n for n, _ in pairs}):
            if (row.name, row.address) in pairs:
                self._load(row)
        # Provisional ids for new petitioners: after every existing one, in creation order.
        self.next_id = (session.scalar(sa.select(sa.func.max(Petitioner.id))) or 0) + 1
        self.dates: dict[int, list[date]] = defaultdict(list)
        if self.rows:
            days = [d.received_on for d in items]
            for pid, day in _rows_in(session, (Demand.petitioner_id, Demand.received_on), Demand.petitioner_id,
                                     self.rows, Demand.received_on.between(
                                         repeat_window_start(min(days), window), max(days))):
                self.dates[pid].append(day)
            for days_of in self.dates.values():
                days_of.sort()

    def _load(self, row: Any) -> None:
        if row.id in self.rows:
            return
        self.rows[row.id] = [row.name, row.phone, row.address, row.village_id]
        self.original[row.id] = (row.name, row.phone, row.address, row.village_id)
        self._index(row.id)

    def _index(self, pid: int) -> None:
        name, phone, address, _ = self.rows[pid]
        if phone and (phone not in self.by_phone or pid < self.by_phone[phone]):
            self.by_phone[phone] = pid
        self.by_pair[(name, address)].add(pid)

    def resolve(self, phone: str, name: str, address: str, village_id: int | None) -> int | None:
        """The petitioner of one demand (found, else created), brought up to date; None without phone or name."""
        if not (phone or name):
            return None
        pid: int | None = None
        if phone:
            pid = self.by_phone.get(phone)
        elif name and address:
            ids = self.by_pair.get((name, address))
            pid = min(ids) if ids else None
        if pid is None:
            pid = self.next_id
            self.next_id += 1
            self.rows[pid] = [name, phone, address, village_id]
            self.new.append(pid)
            self._index(pid)
            return pid
        row = self.rows[pid]
        new_name, new_address = name or row[0], address or row[2]
        if (new_name, new_address) != (row[0], row[2]):
            self.by_pair[(row[0], row[2])].discard(pid)
            row[0], row[2] = new_name, new_address
            self.by_pair[(new_name, new_address)].add(pid)
        row[3] = village_id or row[3]
        return pid

    def seen(self, pid: int, received: date, window: int) -> bool:
        """Whether the petitioner has a demand received in the window before ``received``; then count this one."""
        days = self.dates[pid]
        i = bisect_left(days, repeat_window_start(received, window))
        repeat = i < len(days) and days[i] <= received
        insort(days, received)
        return repeat

    def changed(self) -> list[int]:
        return [pid for pid, before in self.original.items() if tuple(self.rows[pid]) != before]


def _person(data: DemandInput) -> tuple[str, str, str]:
    return (normalise_phone(data.petitioner_phone), data.petitioner_name.strip(),
            data.petitioner_address.strip())


def _take_numbers(session: Session, township_id: int, code: str, years: list[int]) -> list[str]:
    """Case numbers for demands received in ``years`` (in that order): one counter update a year.

    The caller's write transaction holds the counter (SQLite: ``BEGIN IMMEDIATE``;
    PostgreSQL: the updated row stays locked) until it commits or rolls back, so the
    numbers are gap-free and no one else can take them meanwhile.
    """
    need = Counter(years)
    last: dict[int, int] = {}
    for year in sorted(need):
        updated = _bump_counter(session, township_id, year, need[year])
        if updated is None:
            # The year's first number. Another PC may create the same counter row at this
            # moment (PostgreSQL): the loser's savepoint rolls back and it bumps the winner's row.
            try:
                with session.begin_nested():
                    session.add(CaseCounter(township_id=township_id, year=year, last_seq=need[year]))
                updated = need[year]
            except IntegrityError:
                updated = _bump_counter(session, township_id, year, need[year])
        last[year] = updated - need[year]
    out = []
    for year in years:
        last[year] += 1
        out.append(f"{code}-{year}-{last[year]:05d}")
    return out


def _bump_counter(session: Session, township_id: int, year: int, by: int) -> int | None:
    return session.execute(
        sa.update(CaseCounter)
        .where(CaseCounter.township_id == township_id, CaseCounter.year == year)
        .values(last_seq=CaseCounter.last_seq + by)
        .returning(CaseCounter.last_seq)
    ).scalar()


def next_case_number(session: Session, township_id: int, code: str, year: int) -> str:
    """Take the next number of the year; the write transaction holds the lock until commit."""
    return _take_numbers(session, township_id, code, [year])[0]


def _insert_returning_ids(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` with one executemany; their new ids, in order.

    On SQLite the ids are given explicitly, after the largest one (the write transaction
    holds the database, so no one else can take them); elsewhere the database assigns
    them and returns them in the rows' order.
    """
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        first = (conn.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
        rows = [{**row, "id": first + k} for k, row in enumerate(rows)]
        conn.execute(table.insert(), rows)
        return [first + k for k in range(len(rows))]
    result = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


_UNTRACKED_DEFAULTS = {"paused_since": None, "extension_days": 0, "transfer_count": 0, "rework_count": 0}


def register(session: Session, actor: User | None, data: DemandInput, *, today: date | None = None,
             check_role: bool = True) -> Demand:
    """Register one demand (``register_many`` with one item); returns it, loaded in ``session``."""
    try:
        [demand_id] = register_many(session, actor, [data], today=today, check_role=check_role)
    except ItemError as exc:
        raise ValidationError(exc.item_field, exc.reason) from None
    demand = session.get(Demand, demand_id)
    assert demand is not None
    return demand


def register_many(session: Session, actor: User | None, items: Sequence[DemandInput], *,
                  today: date | None = None, check_role: bool = True,
                  on_progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> list[int]:
    """Register ``items`` in their order, exactly as calling ``register`` for each in turn would.

    Every item is checked first: a bad one raises ``ItemError`` (its index and field)
    and nothing is written. Then the lists, rules and calendar are read once, the
    petitioners the items need are loaded in a few queries, each year's case numbers
    are taken with one counter update, and petitioners, demands and audit events are
    inserted in batches of ``CHUNK``; ``on_progress(done, total)`` is called and
    ``cancelled()`` checked between batches. All of it happens in the caller's write
    transaction: committed together or not at all. Returns the new demands' ids.
    """
    if check_role:
        access.require(actor, "register")
    today = _today(today)
    items = list(items)
    if not items:
        return []
    session.flush()  # the caller's pending changes first: the look-ups below read the database
    lists = _Lists(session, items)
    types: list[DemandType] = []
    for i, data in enumerate(items):
        try:
            types.append(_check(data, today, lists))
        except ValidationError as exc:
            raise ItemError(i, exc.field, exc.reason) from None

    # Each item's petitioner, repeat flag, rule set and deadline, in order, as single
    # registrations would have found them.
    people = _People(session, items, lists.window)
    plans: list[tuple[int | None, bool, str, deadlines.Deadline]] = []
    for data, dtype in zip(items, types, strict=True):
        received = data.received_on
        assert received is not None
        pid = people.resolve(*_person(data), data.village_id)
        repeat = pid is not None and people.seen(pid, received, lists.window)
        rule_set = lists.rule_set(data)
        plans.append((pid, repeat, rule_set, lists.deadline(rule_set, dtype, received)))
    codes = _take_numbers(session, lists.town_id, lists.town_code,
                          [d.received_on.year for d in items if d.received_on is not None])

    # Petitioners: the new ones (with their final name and address), then the changed ones.
    conn = session.connection()
    p_table = Petitioner.__table__
    actual: dict[int, int] = {}  # provisional id -> id
    for start in range(0, len(people.new), CHUNK):
        chunk = people.new[start:start + CHUNK]
        rows = [dict(zip(("name", "phone", "address", "village_id"), people.rows[pid], strict=True))
                for pid in chunk]
        actual.update(zip(chunk, _insert_returning_ids(session, p_table, rows), strict=True))
    changed = people.changed()
    if changed:
        conn.execute(
            p_table.update().where(p_table.c.id == sa.bindparam("pid"))
            .values(name=sa.bindparam("new_name"), address=sa.bindparam("new_address"),
                    village_id=sa.bindparam("new_village")),
            [{"pid": pid, "new_name": people.rows[pid][0], "new_address": people.rows[pid][2],
              "new_village": people.rows[pid][3]} for pid in changed])
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Petitioner):
                session.expire(obj)  # rows changed behind the ORM's back

    # Demands, batch by batch, each followed by its audit events (the registration, then
    # the import) and the evaluations an old ledger recorded.
    actor_id = actor.id if actor is not None else None
    audit_table, eval_table = AuditEvent.__table__, Evaluation.__table__
    ids: list[int] = []
    total = len(items)
    for start in range(0, total, CHUNK):
        if cancelled is not None and cancelled():
            raise RegistrationCancelled()
        rows, extras = [], []
        for k in range(start, min(start + CHUNK, total)):
            data, (pid, repeat, rule_set, due) = items[k], plans[k]
            row: dict[str, Any] = dict(
                code=codes[k], township_id=lists.town_id, type=types[k], category_id=data.category_id,
                channel_id=data.channel_id, content=data.content.strip(), received_on=data.received_on,
                village_id=data.village_id, grid_id=data.grid_id,
                petitioner_id=actual.get(pid, pid) if pid is not None else None, registrar_id=actor_id,
                status=Status.REGISTERED, rule_set=rule_set, external_ref=data.external_ref.strip(),
                deadline=due.due, deadline_provisional=due.provisional, is_repeat=repeat,
                remarks=data.remarks.strip(), original_no=data.original_no.strip(), unit_id=None, level=None,
                first_level=None, closed_on=None, satisfaction=None, result_summary="",
            )
            extras.append(_apply_history(row, data.history, lists, today, actor_id))
            rows.append(row)
        chunk_ids = _insert_returning_ids(session, Demand.__table__, rows)
        audits: list[dict[str, Any]] = []
        evaluations: list[dict[str, Any]] = []
        for did, row, (import_summary, import_after, evaluation) in zip(chunk_ids, rows, extras, strict=True):
            after = snapshot(SimpleNamespace(**_UNTRACKED_DEFAULTS, **row), TRACKED)
            audits.append(dict(actor_id=actor_id, action="register", entity="demand", entity_id=did, demand_id=did,
                               summary=f"受理登记 {row['code']}", before=None, after=after))
            if import_summary is not None:
                audits.append(dict(actor_id=actor_id, action="import", entity="demand", entity_id=did,
                                   demand_id=did, summary=import_summary, before=None, after=import_after))
            if evaluation is not None:
                evaluations.append({**evaluation, "demand_id": did})
        conn.execute(audit_table.insert(), audits)
        if evaluations:
            conn.execute(eval_table.insert(), evaluations)
        ids.extend(chunk_ids)
        if on_progress is not None:
            on_progress(len(ids), total)
    return ids


def _apply_history(row: dict[str, Any], h: LedgerHistory | None, lists: _Lists, today: date,
                   actor_id: int | None) -> tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]:
    """Put an imported row's unit and old-ledger closure into its demand row.

    Returns the import event's summary and details, and the evaluation row to write (or
    Nones). Closure and evaluation come from the old ledger, where the four-party
    sign-off is on paper; the import event says so, and which date stands in when the
    ledger records 办结 without a date.
    """
    if h is None:
        return None, None, None
    if h.unit_id is not None:
        row["unit_id"], row["level"] = h.unit_id, lists.units[h.unit_id]
    details = dict(h.details)
    if not h.closed:
        return h.summary, details, None
    notes = [HISTORY_CLOSED_NOTE]
    closed_on = h.closed_on
    if closed_on is None:
        deadline, received = row["deadline"], row["received_on"]
        if deadline is not None and deadline <= today:
            closed_on, what = deadline, f"办理期限 {deadline.isoformat()}"
        else:
            closed_on, what = received, f"受理日期 {received.isoformat()}"
        notes.append(f"原台账未记载办结日期，以{what} 作为办结日期")
    row.update(status=lifecycle.imported_state(True, h.satisfaction is not None), closed_on=closed_on,
               first_level=row["level"], result_summary=h.result_summary.strip())
    evaluation = None
    if h.satisfaction is not None:
        row.update(satisfaction=h.satisfaction)
        evaluation = dict(result=h.satisfaction, evaluated_on=closed_on, method=HISTORY_METHOD,
                          comment=h.satisfaction_text.strip(), actor_id=actor_id)
        if h.satisfaction is Satisfaction.UNSATISFIED:
            notes.append("原台账评价为不满意，作为历史记录保存，不转二次整改")
        else:
            notes.append(f"原台账评价为{h.satisfaction.label}")
    details["history"] = {"status": row["status"].value, "closed_on": closed_on.isoformat(),
                          "closed_on_recorded": h.closed_on is not None,
                          "satisfaction": h.satisfaction.value if h.satisfaction else None}
    return "；".join([h.summary, *notes]), details, evaluation


EDITABLE = ("content", "category_id", "channel_id", "village_id", "grid_id", "remarks", "external_ref", "type")


def edit(session: Session, actor: User | None, ref: Any, changes: dict[str, Any],
         expected_version: int | None = None) -> Demand:
    access.require(actor, "edit")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "edit")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError("字段", f"不可修改：{', '.join(sorted(unknown))}")
    if "content" in changes and not str(changes["content"]).strip():
        raise ValidationError("诉求内容", "不能为空")
    before = snapshot(demand, list(changes))
    for key, value in changes.items():
        if key == "type":
            value = DemandType.from_label(str(value))
        setattr(demand, key, value)
    if "type" in changes and demand.status in (Status.REGISTERED, Status.SCREENED, Status.PENDING_ASSIGNMENT):
        due = deadlines.due_date(load_calendar(session), _rules(session), demand.rule_set,
                                 demand.type.value, demand.received_on)
        demand.deadline, demand.deadline_provisional = due.due, due.provisional
    session.flush()
    record(session, actor, "edit", "demand", demand.id, demand_id=demand.id, summary="修改登记信息",
           before=before, after=snapshot(demand, list(changes)))
    return demand


# -- screening ---------------------------------------------------------------------


def screen(session: Session, actor: User | None, ref: Any, result: ScreeningResult | str,
           explanation: str = "", duplicate_of: str | int | None = None,
           expected_version: int | None = None) -> Demand:
    """初审: valid, or 重复 / 虚假 / 不属于受理范围 closed with the recorded explanation."""
    access.require(actor, "screen")
    demand = get(session, ref, expected_version)
    result = ScreeningResult.from_label(str(result)) if not isinstance(result, ScreeningResult) else result
    if result not in INITIAL_RESULTS:
        raise ValidationError("初审结果", f"应为 {'/'.join(r.label for r in INITIAL_RESULTS)}")
    before = snapshot(demand, TRACKED)
    original = None
    if result is not ScreeningResult.VALID:
        if not explanation.strip():
            raise ValidationError("解释说明", f"初审为“{result.label}”时必须记录解释疏导情况")
        if result is ScreeningResult.DUPLICATE:
            if duplicate_of is None:
                raise ValidationError("原诉求", "重复诉求须关联原诉求编码")
            original = get(session, duplicate_of)
            if original.id == demand.id:
                raise ValidationError("原诉求", "不能关联自身")
        lifecycle.apply(demand, "screen_invalid")
    else:
        lifecycle.apply(demand, "screen_valid")
    demand.screening_result = result
    if original is not None:
        demand.duplicate_of_id = original.id
        demand.is_repeat = True
    session.add(Screening(demand_id=demand.id, stage=ScreeningStage.INITIAL, result=result,
                          explanation=explanation.strip(), actor_id=actor.id if actor else None,
                          duplicate_of_id=original.id if original else None))
    session.flush()
    _step(session, actor, demand, "screen", "screen", f"初审：{result.label}", before)
    return demand


def review(session: Session, actor: User | None, ref: Any, result: ScreeningResult | str,
           explanation: str = "", expected_version: int | None = None) -> Demand:
    """复核: 合理 / 部分合理 go on to 交办; 不合理 is closed after 解释疏导."""
    access.require(actor, "review")
    demand = get(session, ref, expected_version)
    result = ScreeningResult.from_label(str(result)) if not isinstance(result, ScreeningResult) else result
    if result not in REVIEW_RESULTS:
        raise ValidationError("复核结果", f"应为 {'/'.join(r.label for r in REVIEW_RESULTS)}")
    before = snapshot(demand, TRACKED)
    if result is ScreeningResult.UNREASONABLE:
        if not explanation.strip():
            raise ValidationError("解释说明", "复核为“不合理”时必须记录解释疏导情况")
        lifecycle.apply(demand, "review_reject")
    else:
        lifecycle.apply(demand, "review_accept")
    demand.review_result = result
    session.add(Screening(demand_id=demand.id, stage=ScreeningStage.REVIEW, result=result,
                          explanation=explanation.strip(), actor_id=actor.id if actor else None))
    session.flush()
    _step(session, actor, demand, "review", "review", f"复核：{result.label}", before)
    return demand


def answer_on_spot(session: Session, actor: User | None, ref: Any, answer: str,
                   expected_version: int | None = None) -> Demand:
    """A 咨询 answered at once goes from registration straight to 待会签."""
    access.require(actor, "answer_on_spot")
    demand = get(session, ref, expected_version)
    if demand.type is not DemandType.CONSULT:
        raise IllegalTransition(f"只有咨询类诉求可即时答复，{demand.code} 是{demand.type.label}类")
    if not answer.strip():
        raise ValidationError("答复内容", "不能为空")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "answer_on_spot")
    demand.answer = demand.result_summary = answer.strip()
    demand.screening_result = ScreeningResult.VALID
    session.flush()
    _step(session, actor, demand, "answer", "answer_on_spot", "咨询即时答复", before)
    return demand


# -- assignment and transfers ----------------------------------------------------------


def _unit(session: Session, unit_id: int, field: str = "责任单位") -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise ValidationError(field, "不存在或已停用")
    return unit


def assign(session: Session, actor: User | None, ref: Any, unit_id: int, co_unit_ids: list[int] = (),
           level: Level | None = None, reason: str = "", expected_version: int | None = None) -> Demand:
    """交办: one responsible unit at a level, co-handling units allowed (1+N)."""
    access.require(actor, "assign")
    demand = get(session, ref, expected_version)
    unit = _unit(session, unit_id)
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "assign")
    level = level or unit.level
    demand.unit_id, demand.level, demand.first_level = unit.id, level, level
    demand.co_units = [_unit(session, u, "协办单位") for u in co_unit_ids if u != unit.id]
    session.add(Assignment(demand_id=demand.id, kind=AssignmentKind.ASSIGN, to_unit_id=unit.id,
                           level=level, reason=reason.strip(), actor_id=actor.id if actor else None))
    session.flush()
    co = "、".join(u.name for u in demand.co_units)
    _step(session, actor, demand, "assign", "assign",
          f"交办 {unit.name}（{level.label}级）" + (f"，协办：{co}" if co else ""), before)
    return demand


def transfer(session: Session, actor: User | None, ref: Any, to_unit_id: int, reason: str,
             level: Level | None = None, expected_version: int | None = None) -> Demand:
    """移交 up or down (or sideways); every transfer is recorded and counted."""
    access.require(actor, "transfer")
    demand = get(session, ref, expected_version)
    if not reason.strip():
        raise ValidationError("移交理由", "不能为空")
    unit = _unit(session, to_unit_id)
    if unit.id == demand.unit_id:
        raise ValidationError("责任单位", "与当前责任单位相同")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "transfer")
    level = level or unit.level
    old_level = demand.level
    diff = LEVEL_ORDER[level] - LEVEL_ORDER[old_level] if old_level else 0
    kind = (AssignmentKind.TRANSFER_UP if diff > 0 else
            AssignmentKind.TRANSFER_DOWN if diff < 0 else AssignmentKind.TRANSFER)
    session.add(Assignment(demand_id=demand.id, kind=kind, from_unit_id=demand.unit_id, to_unit_id=unit.id,
                           from_level=old_level, level=level, reason=reason.strip(),
                           actor_id=actor.id if actor else None))
    demand.unit_id, demand.level = unit.id, level
    demand.transfer_count += 1
    session.flush()
    _step(session, actor, demand, "transfer", "transfer", f"{kind.label}至 {unit.name}：{reason.strip()}", before)
    return demand


# -- handling ------------------------------------------------------------------------


def add_progress(session: Session, actor: User | None, ref: Any, text: str, done_on: date | None = None,
                 expected_version: int | None = None) -> ProgressEntry:
    access.require(actor, "progress")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "progress")
    if not text.strip():
        raise ValidationError("进展内容", "不能为空")
    done_on = _today(done_on)
    if done_on > date.today():
        raise ValidationError("进展日期", "不能是将来的日期")
    entry = ProgressEntry(demand_id=demand.id, text=text.strip(), done_on=done_on,
                          actor_id=actor.id if actor else None)
    session.add(entry)
    session.flush()
    record(session, actor, "progress", "progress_entry", entry.id, demand_id=demand.id,
           summary=f"办理进展：{text.strip()[:60]}")
    return entry


def store_file(src: Path, files_dir: Path) -> tuple[str, int]:
    """Copy a file into the store under its SHA-256 (once); returns (sha256, size)."""
    digest = hashlib.sha256()
    with src.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    target = stored_path(files_dir, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        shutil.copyfile(src, tmp)
        tmp.replace(target)
    return sha, src.stat().st_size


def stored_path(files_dir: Path, sha256: str) -> Path:
    return files_dir / sha256[:2] / sha256


def attach(session: Session, actor: User | None, ref: Any, src: Path, files_dir: Path, caption: str = "",
           kind: str = "evidence") -> Attachment:
    access.require(actor, "attach")
    demand = get(session, ref)
    lifecycle.apply(demand, "attach")
    src = Path(src)
    if not src.is_file():
        raise ValidationError("附件", f"找不到文件 {src}")
    sha, size = store_file(src, files_dir)
    att = Attachment(demand_id=demand.id, sha256=sha, original_name=src.name, size=size, kind=kind,
                     caption=caption.strip(), actor_id=actor.id if actor else None)
    session.add(att)
    session.flush()
    record(session, actor, "attach", "attachment", att.id, demand_id=demand.id,
           summary=f"上传{'会签扫描件' if kind == 'scan' else '佐证材料'}：{src.name}", after={"sha256": sha})
    return att


def request_extension(session: Session, actor: User | None, ref: Any, days: int, reason: str,
                      expected_version: int | None = None) -> Extension:
    access.require(actor, "request_extension")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "request_extension")
    if days <= 0:
        raise ValidationError("延期天数", "应为正整数")
    if not reason.strip():
        raise ValidationError("延期理由", "不能为空")
    limit = deadlines.rule_for(_rules(session), demand.rule_set, deadlines.EXTENSION_MAX)
    if demand.extension_days + days > limit.days:
        raise ValidationError("延期天数", f"累计延期不得超过 {limit.label}（已延期 {demand.extension_days} 天）")
    pending = session.scalars(sa.select(Extension).where(
        Extension.demand_id == demand.id, Extension.status == ExtensionStatus.PENDING)).first()
    if pending is not None:
        raise IllegalTransition("已有一项延期申请待审批")
    ext = Extension(demand_id=demand.id, days=days, reason=reason.strip(), status=ExtensionStatus.PENDING,
                    requested_by_id=actor.id if actor else None, old_deadline=demand.deadline)
    session.add(ext)
    session.flush()
    record(session, actor, "request_extension", "extension", ext.id, demand_id=demand.id,
           summary=f"申请延期 {days} 天：{reason.strip()}")
    return ext


def decide_extension(session: Session, actor: User | None, extension_id: int, approve: bool,
                     today: date | None = None) -> Extension:
    """A leader approves (the deadline moves) or rejects a pending extension."""
    access.require(actor, "decide_extension")
    ext = session.get(Extension, extension_id)
    if ext is None:
        raise NotFound(f"找不到延期申请 {extension_id}")
    if ext.status is not ExtensionStatus.PENDING:
        raise IllegalTransition(f"该延期申请已{ext.status.label}")
    demand = get(session, ext.demand_id)
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "decide_extension")
    ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    ext.approver_id = actor.id if actor else None
    ext.decided_at = now()
    if approve and demand.deadline is not None:
        cal = load_calendar(session)
        unit = deadlines.rule_for(_rules(session), demand.rule_set, demand.type.value).unit
        demand.deadline = deadlines.shift(cal, unit, demand.deadline, ext.days)
        demand.deadline_provisional = cal.provisional(demand.received_on, demand.deadline)
        demand.extension_days += ext.days
        ext.new_deadline = demand.deadline
    session.flush()
    _step(session, actor, demand, "decide_extension", "decide_extension",
          f"延期申请{ext.status.label}（{ext.days} 天）", before)
    return ext


def pause(session: Session, actor: User | None, ref: Any, reason: str, on: date | None = None,
          expected_version: int | None = None) -> Pause:
    """中止: the clock stops until ``resume``; the paused days are added to the deadline."""
    access.require(actor, "pause")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "pause")
    if demand.paused_since is not None:
        raise IllegalTransition(f"诉求 {demand.code} 已于 {demand.paused_since} 中止计时")
    if not reason.strip():
        raise ValidationError("中止理由", "不能为空")
    before = snapshot(demand, TRACKED)
    on = _today(on)
    demand.paused_since = on
    row = Pause(demand_id=demand.id, reason=reason.strip(), paused_on=on, actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    _step(session, actor, demand, "pause", "pause", f"中止计时：{reason.strip()}", before)
    return row


def resume(session: Session, actor: User | None, ref: Any, on: date | None = None,
           expected_version: int | None = None) -> Pause:
    access.require(actor, "pause")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "resume")
    if demand.paused_since is None:
        raise IllegalTransition(f"诉求 {demand.code} 没有中止计时")
    on = _today(on)
    if on < demand.paused_since:
        raise ValidationError("恢复日期", "早于中止日期")
    before = snapshot(demand, TRACKED)
    row = session.scalars(sa.select(Pause).where(Pause.demand_id == demand.id, Pause.resumed_on.is_(None))).one()
    row.resumed_on = on
    cal = load_calendar(session)
    unit = deadlines.rule_for(_rules(session), demand.rule_set, demand.type.value).unit
    lost = deadlines.paused_length(cal, unit, demand.paused_since, on)
    if demand.deadline is not None:
        demand.deadline = deadlines.shift(cal, unit, demand.deadline, lost)
        demand.deadline_provisional = cal.provisional(demand.received_on, demand.deadline)
    demand.paused_since = None
    session.flush()
    _step(session, actor, demand, "resume", "pause", f"恢复计时（中止 {lost} 天，期限顺延）", before)
    return row


# -- closing: 四方会签 ----------------------------------------------------------------


def submit_signoff(session: Session, actor: User | None, ref: Any, result_summary: str,
                   expected_version: int | None = None) -> Demand:
    access.require(actor, "submit_signoff")
    demand = get(session, ref, expected_version)
    if not result_summary.strip():
        raise ValidationError("办理结果", "提交会签前须填写办理结果")
    if demand.paused_since is not None:
        raise IllegalTransition("计时中止期间不能提交会签，请先恢复计时")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "submit_signoff")
    demand.result_summary = result_summary.strip()
    session.flush()
    _step(session, actor, demand, "submit_signoff", "submit_signoff", "办理完毕，提交四方会签", before)
    return demand


def signoffs_this_round(session: Session, demand: Demand) -> list[SignOff]:
    return list(session.scalars(
        sa.select(SignOff).where(SignOff.demand_id == demand.id, SignOff.round == demand.signoff_round)
        .order_by(SignOff.id)
    ))


def next_party(session: Session, demand: Demand) -> Party | None:
    signed = [s for s in signoffs_this_round(session, demand) if not s.refused]
    return PARTY_ORDER[len(signed)] if len(signed) < len(PARTY_ORDER) else None


def sign(session: Session, actor: User | None, ref: Any, party: Party | str, signer_name: str,
         signed_on: date | None = None, opinion: str = "", refused: bool = False,
         expected_version: int | None = None) -> SignOff:
    """Record one of the four signatures, in order; all four close the demand.

    A refusal is recorded with its reason and sends the demand back to handling; the
    next submission starts a new round of four signatures.
    """
    party = Party.from_label(str(party)) if not isinstance(party, Party) else party
    access.require(actor, access.SIGN_OPERATION[party])
    demand = get(session, ref, expected_version)
    lifecycle.check(demand, "sign")
    expected = next_party(session, demand)
    if party is not expected:
        order = " → ".join(p.label for p in PARTY_ORDER)
        raise IllegalTransition(f"四方会签须按 {order} 的顺序签字，下一位应为“{expected.label}”")
    if not signer_name.strip():
        raise ValidationError("签字人", "不能为空")
    if refused and not opinion.strip():
        raise ValidationError("意见", "拒绝签字须记录理由")
    signed_on = _today(signed_on)
    if signed_on > date.today():
        raise ValidationError("签字日期", "不能是将来的日期")
    before = snapshot(demand, TRACKED)
    row = SignOff(demand_id=demand.id, round=demand.signoff_round, party=party, signer_name=signer_name.strip(),
                  signed_on=signed_on, opinion=opinion.strip(), refused=refused,
                  recorded_by_id=actor.id if actor else None)
    session.add(row)
    if refused:
        lifecycle.apply(demand, "sign_refused")
        demand.signoff_round += 1
        summary = f"{party.label}拒绝签字：{opinion.strip()}，退回办理"
    elif party is PARTY_ORDER[-1]:
        lifecycle.apply(demand, "sign_complete")
        demand.closed_on = signed_on
        summary = "四方会签完成，办结"
    else:
        lifecycle.apply(demand, "sign")
        summary = f"{party.label}签字：{signer_name.strip()}"
    session.flush()
    _step(session, actor, demand, "sign", "sign", summary, before)
    return row


# -- after closing ----------------------------------------------------------------------


def evaluate(session: Session, actor: User | None, ref: Any, result: Satisfaction | str, method: str = "",
             comment: str = "", on: date | None = None, expected_version: int | None = None) -> Evaluation:
    """满意/基本满意 complete the demand; 不满意 reopens it as 二次整改 with a new deadline."""
    access.require(actor, "evaluate")
    demand = get(session, ref, expected_version)
    result = Satisfaction.from_label(str(result)) if not isinstance(result, Satisfaction) else result
    on = _today(on)
    before = snapshot(demand, TRACKED)
    if result is Satisfaction.UNSATISFIED:
        lifecycle.apply(demand, "evaluate_bad")
        demand.rework_count += 1
        demand.signoff_round += 1
        demand.closed_on = None
        rule = deadlines.rule_for(_rules(session), demand.rule_set, deadlines.REWORK)
        due = deadlines.add(load_calendar(session), rule, on)
        demand.deadline, demand.deadline_provisional = due.due, due.provisional
    else:
        lifecycle.apply(demand, "evaluate_ok")
    demand.satisfaction = result
    row = Evaluation(demand_id=demand.id, result=result, evaluated_on=on, method=method.strip(),
                     comment=comment.strip(), actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    text = f"评价：{result.label}" + ("，转二次整改" if result is Satisfaction.UNSATISFIED else "")
    _step(session, actor, demand, "evaluate", "evaluate", text, before)
    return row


def revisit(session: Session, actor: User | None, ref: Any, finding: str, on: date | None = None,
            problem_recurred: bool = False) -> Revisit:
    access.require(actor, "revisit")
    demand = get(session, ref)
    lifecycle.apply(demand, "revisit")
    if not finding.strip():
        raise ValidationError("回访情况", "不能为空")
    row = Revisit(demand_id=demand.id, visited_on=_today(on), finding=finding.strip(),
                  problem_recurred=problem_recurred, actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    record(session, actor, "revisit", "revisit", row.id, demand_id=demand.id, summary=f"回头看：{finding.strip()[:60]}")
    return row


def reopen(session: Session, actor: User | None, ref: Any, reason: str, on: date | None = None,
           expected_version: int | None = None) -> Demand:
    """The only way to change a closed demand: reopen it with a reason (audited)."""
    access.require(actor, "reopen")
    demand = get(session, ref, expected_version)
    if not reason.strip():
        raise ValidationError("重新打开理由", "不能为空")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "reopen")
    demand.signoff_round += 1
    demand.closed_on = None
    rule = deadlines.rule_for(_rules(session), demand.rule_set, deadlines.REWORK)
    due = deadlines.add(load_calendar(session), rule, _today(on))
    demand.deadline, demand.deadline_provisional = due.due, due.provisional
    session.flush()
    _step(session, actor, demand, "reopen", "reopen", f"重新打开：{reason.strip()}", before)
    return demand


def supervise(session: Session, actor: User | None, ref: Any, note: str) -> Supervision:
    access.require(actor, "supervise")
    demand = get(session, ref)
    lifecycle.apply(demand, "supervise")
    if not note.strip():
        raise ValidationError("督办意见", "不能为空")
    before = snapshot(demand, TRACKED)
    demand.supervised = True
    row = Supervision(demand_id=demand.id, note=note.strip(), actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    _step(session, actor, demand, "supervise", "supervise", f"督办：{note.strip()}", before)
    return row



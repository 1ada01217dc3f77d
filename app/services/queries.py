"""Reading demands: filters (shared by the ledger, the command line and reports), rows, the story."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import deadlines
from app.models import (
    Assignment,
    Attachment,
    AuditEvent,
    Category,
    Channel,
    Demand,
    Evaluation,
    Extension,
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
from app.services import settings
from app.services.calendar import load_calendar
from app.vocab import OPEN_STATUSES, DemandType, Status
from app.workcal import WorkCalendar


@dataclass
class DemandFilter:
    statuses: list[Status] = field(default_factory=list)
    types: list[DemandType] = field(default_factory=list)
    village_ids: list[int] = field(default_factory=list)
    grid_ids: list[int] = field(default_factory=list)
    unit_ids: list[int] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)  # any level: descendants included
    channel_ids: list[int] = field(default_factory=list)
    received_from: date | None = None
    received_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    due_soon: bool = False
    overdue: bool = False
    extended: bool = False
    transferred: bool = False
    transferred_twice: bool = False
    repeat: bool = False
    rework: bool = False
    supervised: bool = False
    awaiting_evaluation: bool = False
    open_only: bool = False
    petitioner_id: int | None = None
    text: str = ""


def descendant_categories(session: Session, ids: list[int]) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for cid, parent in session.execute(sa.select(Category.id, Category.parent_id)):
        children.setdefault(parent, []).append(cid)
    out, stack = [], list(ids)
    while stack:
        cid = stack.pop()
        out.append(cid)
        stack.extend(children.get(cid, []))
    return out


def conditions(session: Session, f: DemandFilter, today: date | None = None,
               cal: WorkCalendar | None = None) -> list[Any]:
    """The WHERE clauses of a filter, portable SQL."""
    today = today or date.today()
    where: list[Any] = []
    if f.statuses:
        where.append(Demand.status.in_(f.statuses))
    if f.types:
        where.append(Demand.type.in_(f.types))
    if f.village_ids:
        where.append(Demand.village_id.in_(f.village_ids))
    if f.grid_ids:
        where.append(Demand.grid_id.in_(f.grid_ids))
    if f.unit_ids:
        where.append(Demand.unit_id.in_(f.unit_ids))
    if f.category_ids:
        where.append(Demand.category_id.in_(descendant_categories(session, f.category_ids)))
    if f.channel_ids:
        where.append(Demand.channel_id.in_(f.channel_ids))
    if f.received_from:
        where.append(Demand.received_on >= f.received_from)
    if f.received_to:
        where.append(Demand.received_on <= f.received_to)
    if f.closed_from:
        where.append(Demand.closed_on >= f.closed_from)
    if f.closed_to:
        where.append(Demand.closed_on <= f.closed_to)
    running = sa.and_(Demand.status.in_(OPEN_STATUSES), Demand.paused_since.is_(None))
    if f.open_only:
        where.append(Demand.status.in_(OPEN_STATUSES))
    if f.overdue:
        where.append(sa.and_(running, Demand.deadline < today))
    if f.due_soon:
        cal = cal or load_calendar(session)
        limit = cal.add_workdays(today, int(settings.get(session, "due_soon_days")))
        where.append(sa.and_(running, Demand.deadline >= today, Demand.deadline <= limit))
    if f.extended:
        where.append(Demand.extension_days > 0)
    if f.transferred:
        where.append(Demand.transfer_count > 0)
    if f.transferred_twice:
        where.append(Demand.transfer_count > 1)
    if f.repeat:
        where.append(Demand.is_repeat.is_(True))
    if f.rework:
        where.append(Demand.rework_count > 0)
    if f.supervised:
        where.append(Demand.supervised.is_(True))
    if f.awaiting_evaluation:
        where.append(Demand.status == Status.CLOSED)
    if f.petitioner_id is not None:
        where.append(Demand.petitioner_id == f.petitioner_id)
    if f.text.strip():
        where.append(text_condition(f.text.strip()))
    return where


def text_condition(text: str) -> Any:
    """Content, petitioner name/phone/address and case number contain the text."""
    like = f"%{text}%"
    people = sa.select(Petitioner.id).where(
        sa.or_(Petitioner.name.like(like), Petitioner.phone.like(like), Petitioner.address.like(like))
    )
    return sa.or_(Demand.content.like(like), Demand.code.like(like), Demand.petitioner_id.in_(people))


def count(session: Session, f: DemandFilter, today: date | None = None) -> int:
    return session.scalar(sa.select(sa.func.count(Demand.id)).where(*conditions(session, f, today))) or 0


@dataclass
class Row:
    """One demand as lists and exports show it (full personal data; mask before sharing)."""

    id: int
    code: str
    received: date
    petitioner: str
    phone: str
    address: str
    village: str
    type: str
    category: str
    channel: str
    content: str
    unit: str
    status: str
    deadline: date | None
    provisional: bool
    remaining: int | None
    clock: str
    satisfaction: str
    closed: date | None
    version: int

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code, "status": self.status, "type": self.type,
            "received": self.received.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_provisional": self.provisional, "remaining_workdays": self.remaining,
            "clock": self.clock, "village": self.village, "unit": self.unit,
            "petitioner": self.petitioner, "phone": self.phone, "category": self.category,
            "channel": self.channel, "content": self.content, "satisfaction": self.satisfaction,
            "closed": self.closed.isoformat() if self.closed else None,
        }


def category_paths(session: Session) -> dict[int, str]:
    rows = {cid: (parent, name) for cid, parent, name in
            session.execute(sa.select(Category.id, Category.parent_id, Category.name))}

    def path(cid: int) -> str:
        parts = []
        while cid is not None and cid in rows:
            parent, name = rows[cid]
            parts.append(name)
            cid = parent
        return " › ".join(reversed(parts))

    return {cid: path(cid) for cid in rows}


SORT_COLUMNS: dict[str, Any] = {
    "code": Demand.code, "received": Demand.received_on, "village": Village.name, "type": Demand.type,
    "unit": Unit.name, "status": Demand.status, "deadline": Demand.deadline,
    "satisfaction": Demand.satisfaction, "petitioner": Petitioner.name, "category": Demand.category_id,
    "content": Demand.content,
}


def row_query(where: list[Any]) -> sa.Select:
    return (
        sa.select(Demand, Petitioner.name, Petitioner.phone, Petitioner.address, Village.name, Unit.name,
                  Channel.name)
        .outerjoin(Petitioner, Petitioner.id == Demand.petitioner_id)
        .outerjoin(Village, Village.id == Demand.village_id)
        .outerjoin(Unit, Unit.id == Demand.unit_id)
        .outerjoin(Channel, Channel.id == Demand.channel_id)
        .where(*where)
    )


def rows(session: Session, f: DemandFilter, *, sort: str = "received", descending: bool = True,
         offset: int = 0, limit: int | None = None, today: date | None = None) -> list[Row]:
    today = today or date.today()
    cal = load_calendar(session)
    q = row_query(conditions(session, f, today, cal))
    col = SORT_COLUMNS[sort]
    q = q.order_by(col.desc() if descending else col.asc(), Demand.id.desc() if descending else Demand.id)
    q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    paths = category_paths(session)
    due_soon = int(settings.get(session, "due_soon_days"))
    return [to_row(r, paths, cal, today, due_soon) for r in session.execute(q)]


def to_row(r: Any, paths: dict[int, str], cal: WorkCalendar, today: date, due_soon: int) -> Row:
    d: Demand = r[0]
    state, remaining = deadlines.clock_state(
        cal, today, d.deadline, open_=d.status in OPEN_STATUSES, paused=d.paused_since is not None,
        due_soon_days=due_soon)
    return Row(
        id=d.id, code=d.code, received=d.received_on, petitioner=r[1] or "", phone=r[2] or "",
        address=r[3] or "", village=r[4] or "", type=d.type.label,
        category=paths.get(d.category_id, "") if d.category_id else "", channel=r[6] or "",
        content=d.content, unit=r[5] or "", status=d.status.label, deadline=d.deadline,
        provisional=d.deadline_provisional, remaining=remaining, clock=state.label,
        satisfaction=d.satisfaction.label if d.satisfaction else "", closed=d.closed_on, version=d.version,
    )


# -- the story of one demand --------------------------------------------------------


@dataclass
class StoryEvent:
    at: datetime
    kind: str
    text: str
    who: str
    ref: Any = None


def story(session: Session, demand: Demand) -> list[StoryEvent]:
    """Everything that happened to a demand, oldest first, each with who and when."""
    users = dict(session.execute(sa.select(User.id, User.name)).all())
    units = dict(session.execute(sa.select(Unit.id, Unit.name)).all())
    who = lambda uid: users.get(uid, "系统") if uid else "系统"  # noqa: E731
    did = demand.id
    events: list[StoryEvent] = [
        StoryEvent(demand.created_at, "受理登记", f"受理日期 {demand.received_on}，类型 {demand.type.label}",
                   who(demand.registrar_id))
    ]
    imported = session.scalars(sa.select(AuditEvent).where(AuditEvent.demand_id == did,
                                                           AuditEvent.action == "import")).all()
    events += [StoryEvent(a.at, "导入", a.summary, who(a.actor_id)) for a in imported]
    for s in session.scalars(sa.select(Screening).where(Screening.demand_id == did)):
        extra = f"：{s.explanation}" if s.explanation else ""
        events.append(StoryEvent(s.at, s.stage.label, f"{s.result.label}{extra}", who(s.actor_id), s))
    if demand.answer:
        events.append(StoryEvent(demand.updated_at, "即时答复", demand.answer, who(demand.registrar_id)))
    for a in session.scalars(sa.select(Assignment).where(Assignment.demand_id == did)):
        src = f"{units.get(a.from_unit_id, '')} → " if a.from_unit_id else ""
        reason = f"（{a.reason}）" if a.reason else ""
        events.append(StoryEvent(a.at, a.kind.label, f"{src}{units.get(a.to_unit_id, '')}·{a.level.label}级{reason}",
                                 who(a.actor_id), a))
    for p in session.scalars(sa.select(ProgressEntry).where(ProgressEntry.demand_id == did)):
        events.append(StoryEvent(p.at, "办理进展", f"{p.done_on}：{p.text}", who(p.actor_id), p))
    for f in session.scalars(sa.select(Attachment).where(Attachment.demand_id == did)):
        events.append(StoryEvent(f.at, "会签扫描件" if f.kind == "scan" else "佐证材料",
                                 f.original_name + (f"（{f.caption}）" if f.caption else ""), who(f.actor_id), f))
    for e in session.scalars(sa.select(Extension).where(Extension.demand_id == did)):
        events.append(StoryEvent(e.at, "延期申请", f"{e.days} 天：{e.reason}", who(e.requested_by_id), e))
        if e.decided_at:
            moved = f"，期限 {e.old_deadline} → {e.new_deadline}" if e.new_deadline else ""
            events.append(StoryEvent(e.decided_at, "延期审批", f"{e.status.label}{moved}", who(e.approver_id), e))
    for p in session.scalars(sa.select(Pause).where(Pause.demand_id == did)):
        events.append(StoryEvent(p.at, "中止计时", f"{p.paused_on} 起：{p.reason}", who(p.actor_id), p))
        if p.resumed_on:
            events.append(StoryEvent(datetime.combine(p.resumed_on, datetime.min.time()), "恢复计时",
                                     f"{p.resumed_on} 恢复", who(p.actor_id), p))
    for s in session.scalars(sa.select(SignOff).where(SignOff.demand_id == did)):
        verb = "拒绝签字" if s.refused else "签字"
        opinion = f"，意见：{s.opinion}" if s.opinion else ""
        events.append(StoryEvent(s.at, f"会签·{s.party.label}",
                                 f"{s.signer_name} {verb}（{s.signed_on}{opinion}）第 {s.round} 轮",
                                 who(s.recorded_by_id), s))
    for e in session.scalars(sa.select(Evaluation).where(Evaluation.demand_id == did)):
        method = f"（{e.method}）" if e.method else ""
        events.append(StoryEvent(e.at, "评价", f"{e.result.label}{method} {e.comment}".strip(), who(e.actor_id), e))
    for r in session.scalars(sa.select(Revisit).where(Revisit.demand_id == did)):
        events.append(StoryEvent(r.at, "回头看", f"{r.visited_on}：{r.finding}", who(r.actor_id), r))
    for s in session.scalars(sa.select(Supervision).where(Supervision.demand_id == did)):
        events.append(StoryEvent(s.at, "督办", s.note, who(s.actor_id), s))
    reopened = session.scalars(sa.select(AuditEvent).where(AuditEvent.demand_id == did,
                                                           AuditEvent.action.in_(("reopen", "edit")))).all()
    events += [StoryEvent(a.at, "重新打开" if a.action == "reopen" else "修改", a.summary, who(a.actor_id), a)
               for a in reopened]
    return sorted(events, key=lambda e: e.at)


def petitioner_history(session: Session, petitioner_id: int, exclude_id: int | None = None) -> list[Demand]:
    q = sa.select(Demand).where(Demand.petitioner_id == petitioner_id)
    if exclude_id is not None:
        q = q.where(Demand.id != exclude_id)
    return list(session.scalars(q.order_by(Demand.received_on.desc())))



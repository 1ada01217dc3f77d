"""What the 受理登记 form needs besides ``demands.register``: choices, look-ups, the deadline preview.

Choices carry a search key (name plus pinyin initials: ``柳树社区 lssq``) so a chooser
can find a village by typing ``ls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import deadlines
from app.models import Category, Channel, Demand, Grid, Petitioner, Village
from app.personal import normalise_phone
from app.services import demands, settings
from app.services.calendar import load_calendar
from app.services.setup import initials
from app.vocab import DemandType, RuleSet
from app.workcal import WorkCalendar


@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    search: str  # "柳树社区 lssq": what a chooser matches typed text against


def choice(id_: int, name: str, extra: str = "") -> Choice:
    return Choice(id_, name, f"{name} {initials(name)} {extra}".strip().lower())


@dataclass
class IntakeChoices:
    types: list[Choice]
    villages: list[Choice]
    grids: dict[int, list[Choice]]  # by village id
    categories: dict[int | None, list[Choice]]  # children by parent id (None: top level)
    channels: list[Choice]
    rules: dict[str, Any]
    calendar: WorkCalendar
    repeat_window_days: int
    category_parent: dict[int, int | None] = field(default_factory=dict)

    def category_path(self, category_id: int | None) -> list[int]:
        """Top level first: [一级, 二级, 三级]."""
        out: list[int] = []
        while category_id is not None:
            out.append(category_id)
            category_id = self.category_parent.get(category_id)
        return list(reversed(out))


def load_choices(session: Session) -> IntakeChoices:
    villages = session.execute(sa.select(Village.id, Village.name).order_by(Village.sort, Village.id)).all()
    grids: dict[int, list[Choice]] = {}
    for gid, vid, name in session.execute(sa.select(Grid.id, Grid.village_id, Grid.name).order_by(Grid.name)):
        grids.setdefault(vid, []).append(choice(gid, name))
    categories: dict[int | None, list[Choice]] = {}
    parents: dict[int, int | None] = {}
    for cid, parent, name in session.execute(
            sa.select(Category.id, Category.parent_id, Category.name).order_by(Category.sort, Category.id)):
        categories.setdefault(parent, []).append(choice(cid, name))
        parents[cid] = parent
    channels = session.execute(
        sa.select(Channel.id, Channel.name).where(Channel.active.is_(True)).order_by(Channel.sort, Channel.id)).all()
    types = [Choice(i, t.label, f"{t.label} {initials(t.label)} {t.value}") for i, t in enumerate(DemandType)]
    return IntakeChoices(
        types=types,
        villages=[choice(i, n) for i, n in villages],
        grids=grids,
        categories=categories,
        channels=[choice(i, n) for i, n in channels],
        rules=settings.get(session, "deadline_rules"),
        calendar=load_calendar(session),
        repeat_window_days=int(settings.get(session, "repeat_window_days")),
        category_parent=parents,
    )


# -- deadline preview ------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlinePreview:
    due: date
    provisional: bool
    rule_label: str  # "20 个工作日"
    rule_set_label: str  # "本乡镇规则"

    def text(self) -> str:
        note = "（暂定：节假日数据未覆盖该年份，按周一至周五计算）" if self.provisional else ""
        return f"{self.due.isoformat()}　{self.rule_label}，{self.rule_set_label}{note}"


def rule_set_for_channel(channel_name: str) -> RuleSet:
    """A demand from 12345 or 信访 keeps that clock (as ``demands.register`` decides)."""
    return demands.CHANNEL_RULE_SETS.get(channel_name, RuleSet.TOWNSHIP)


def preview_deadline(choices: IntakeChoices, type_: DemandType, received_on: date,
                     channel_name: str = "") -> DeadlinePreview:
    rule_set = rule_set_for_channel(channel_name)
    rule = deadlines.rule_for(choices.rules, rule_set.value, type_.value)
    due = deadlines.add(choices.calendar, rule, received_on)
    title = choices.rules.get(rule_set.value, {}).get("title") or rule_set.label
    return DeadlinePreview(due.due, due.provisional, rule.label, title)


# -- petitioners --------------------------------------------------------------------------


@dataclass(frozen=True)
class PetitionerHit:
    id: int
    name: str
    phone: str
    address: str
    village_id: int | None
    demands: int

    def label(self) -> str:
        parts = [self.name or "（无姓名）", self.phone, self.address]
        return "　".join(p for p in parts if p) + f"　（{self.demands} 件）"


def search_petitioners(session: Session, text: str, limit: int = 15) -> list[PetitionerHit]:
    """Petitioners whose name starts with, or whose phone contains, the typed text."""
    text = text.strip()
    if not text:
        return []
    digits = normalise_phone(text)
    conds = [Petitioner.name.like(f"{_escape(text)}%", escape="\\")]
    if digits.isdigit():
        conds.append(Petitioner.phone.like(f"%{_escape(digits)}%", escape="\\"))
    n = sa.select(sa.func.count(Demand.id)).where(Demand.petitioner_id == Petitioner.id).scalar_subquery()
    q = (sa.select(Petitioner.id, Petitioner.name, Petitioner.phone, Petitioner.address, Petitioner.village_id, n)
         .where(sa.or_(*conds)).order_by(Petitioner.name, Petitioner.id).limit(limit))
    return [PetitionerHit(*row) for row in session.execute(q)]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def petitioner_hit(session: Session, petitioner_id: int) -> PetitionerHit | None:
    p = session.get(Petitioner, petitioner_id)
    if p is None:
        return None
    count = session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.petitioner_id == p.id)) or 0
    return PetitionerHit(p.id, p.name, p.phone, p.address, p.village_id, count)


def known_petitioner(session: Session, phone: str, name: str, address: str) -> PetitionerHit | None:
    """The petitioner ``demands.register`` would attach the demand to, if any."""
    p = demands.find_petitioner(session, phone, name.strip(), address.strip())
    return petitioner_hit(session, p.id) if p is not None else None


@dataclass(frozen=True)
class EarlierDemand:
    id: int
    code: str
    received: date
    status: str
    type: str
    content: str
    in_window: bool  # within the repeat window before the new demand's date


@dataclass
class PetitionerHistory:
    petitioner: PetitionerHit
    earlier: list[EarlierDemand]
    window_days: int

    @property
    def in_window(self) -> int:
        return sum(1 for d in self.earlier if d.in_window)

    @property
    def is_repeat(self) -> bool:
        return self.in_window > 0

    def warning(self) -> str:
        if not self.earlier:
            return ""
        if self.is_repeat:
            return (f"重复诉求提醒：该反映人 {self.window_days} 天内已反映 {self.in_window} 件"
                    f"（累计 {len(self.earlier)} 件），本件保存后将标记为重复诉求")
        return f"该反映人此前反映过 {len(self.earlier)} 件诉求"


def history(session: Session, petitioner_id: int, received_on: date, window_days: int,
            limit: int = 50) -> PetitionerHistory | None:
    hit = petitioner_hit(session, petitioner_id)
    if hit is None:
        return None
    window = set(d.id for d in demands.earlier_demands(session, petitioner_id, received_on, window_days))
    rows = demands.earlier_demands(session, petitioner_id, received_on)[:limit]
    earlier = [EarlierDemand(d.id, d.code, d.received_on, d.status.label, d.type.label, d.content, d.id in window)
               for d in rows]
    return PetitionerHistory(hit, earlier, window_days)

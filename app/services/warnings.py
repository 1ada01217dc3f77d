"""预警督办: what the 督办 role and leaders chase.

Overdue and due-soon demands per responsible unit, petitioners who came back several
times within the repeat window, demands transferred more than once, and 不满意 reworks.
Each list carries the ``DemandFilter`` of its demands, so the ledger can show exactly them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Demand, Petitioner, Unit, Village
from app.services import queries, settings
from app.services.queries import DemandFilter, Row
from app.vocab import OPEN_STATUSES, Level

LIST_LIMIT = 500


@dataclass
class UnitLoad:
    unit_id: int | None
    name: str
    level: str
    open: int
    due_soon: int
    overdue: int
    supervised: int

    def filter(self, key: str) -> DemandFilter:
        units = [self.unit_id] if self.unit_id is not None else []
        f = {"open": DemandFilter(open_only=True), "due_soon": DemandFilter(due_soon=True),
             "overdue": DemandFilter(overdue=True),
             "supervised": DemandFilter(open_only=True, supervised=True)}[key]
        f.unit_ids = units
        return f


def _by_unit(session: Session, where: list[Any]) -> dict[int | None, int]:
    q = sa.select(Demand.unit_id, sa.func.count(Demand.id)).where(*where).group_by(Demand.unit_id)
    return {k: int(n) for k, n in session.execute(q)}


def unit_loads(session: Session, today: date | None = None) -> list[UnitLoad]:
    """Units with open demands, most overdue first. Unassigned demands have no unit row."""
    today = today or date.today()

    def where(f: DemandFilter) -> list[Any]:
        return queries.conditions(session, f, today)

    open_n = _by_unit(session, where(DemandFilter(open_only=True)))
    soon = _by_unit(session, where(DemandFilter(due_soon=True)))
    late = _by_unit(session, where(DemandFilter(overdue=True)))
    watched = _by_unit(session, where(DemandFilter(open_only=True, supervised=True)))
    units = {uid: (name, level) for uid, name, level in session.execute(sa.select(Unit.id, Unit.name, Unit.level))}
    out = []
    for uid in {k for k in open_n if k is not None}:
        name, level = units.get(uid, ("（已删除单位）", None))
        out.append(UnitLoad(uid, name, Level(level).label if level else "", open_n.get(uid, 0),
                            soon.get(uid, 0), late.get(uid, 0), watched.get(uid, 0)))
    return sorted(out, key=lambda u: (-u.overdue, -u.due_soon, -u.open, u.name))


def unassigned_open(session: Session, today: date | None = None) -> int:
    """Open demands not yet assigned to a unit (待甄别/待复核/待交办)."""
    return int(_by_unit(session, queries.conditions(session, DemandFilter(open_only=True), today)).get(None, 0))


@dataclass
class RepeatPetitioner:
    petitioner_id: int
    name: str
    phone: str
    village: str
    count: int
    first: date
    last: date
    open: int

    def filter(self, since: date) -> DemandFilter:
        return DemandFilter(petitioner_id=self.petitioner_id, received_from=since)


def repeat_window(session: Session) -> int:
    return int(settings.get(session, "repeat_window_days"))


def repeat_petitioners(session: Session, today: date | None = None, window_days: int | None = None,
                       minimum: int = 2) -> tuple[date, list[RepeatPetitioner]]:
    """Petitioners with ``minimum`` or more demands received in the last ``window_days`` days."""
    today = today or date.today()
    window_days = window_days if window_days is not None else repeat_window(session)
    since = today - timedelta(days=window_days)
    n = sa.func.count(Demand.id)
    open_n = sa.func.sum(sa.case((Demand.status.in_(OPEN_STATUSES), 1), else_=0))
    q = (sa.select(Petitioner.id, Petitioner.name, Petitioner.phone, Village.name, n,
                   sa.func.min(Demand.received_on), sa.func.max(Demand.received_on), open_n)
         .join(Petitioner, Petitioner.id == Demand.petitioner_id)
         .outerjoin(Village, Village.id == Petitioner.village_id)
         .where(Demand.received_on.between(since, today))
         .group_by(Petitioner.id, Petitioner.name, Petitioner.phone, Village.name)
         .having(n >= minimum)
         .order_by(n.desc(), sa.func.max(Demand.received_on).desc()))
    rows = [RepeatPetitioner(pid, name or "", phone or "", village or "", int(c), first, last, int(o or 0))
            for pid, name, phone, village, c, first, last, o in session.execute(q)]
    return since, rows


@dataclass
class DemandList:
    title: str
    hint: str
    filter: DemandFilter
    total: int
    rows: list[Row]


def demand_list(session: Session, title: str, hint: str, f: DemandFilter, today: date | None = None,
                sort: str = "deadline", descending: bool = False, limit: int = LIST_LIMIT) -> DemandList:
    today = today or date.today()
    return DemandList(title, hint, f, queries.count(session, f, today),
                      queries.rows(session, f, sort=sort, descending=descending, limit=limit, today=today))


LISTS: dict[str, tuple[str, str, DemandFilter]] = {
    "overdue": ("超期诉求", "已过办理期限、仍未办结且正在计时", DemandFilter(overdue=True)),
    "due_soon": ("临期诉求", "剩余工作日不超过临期预警天数", DemandFilter(due_soon=True)),
    "transferred": ("多次移交", "移交两次及以上（严禁层层转签）", DemandFilter(transferred_twice=True, open_only=True)),
    "rework": ("不满意二次整改", "评价不满意后重新办理、尚未再次办结", DemandFilter(rework=True, open_only=True)),
    "supervised": ("已督办在办", "已督办、尚未办结", DemandFilter(supervised=True, open_only=True)),
}


@dataclass
class WarningsData:
    today: date
    units: list[UnitLoad]
    unassigned: int
    repeat_since: date
    repeat_window_days: int
    repeats: list[RepeatPetitioner]
    lists: dict[str, DemandList]


def compute(session: Session, today: date | None = None) -> WarningsData:
    today = today or date.today()
    window = repeat_window(session)
    since, repeats = repeat_petitioners(session, today, window)
    lists = {}
    for key, (title, hint, f) in LISTS.items():
        lists[key] = demand_list(session, title, hint, f, today)
    return WarningsData(today, unit_loads(session, today), unassigned_open(session, today), since, window,
                        repeats, lists)

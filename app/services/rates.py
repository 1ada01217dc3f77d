"""The rates of DOMAIN.md, one function each, over any period and any grouping.

Each rate function returns ``{group: Ratio}``; the key ``None`` holds the total when no
grouping is asked. Every report and screen uses these functions, so two reports of the
same period agree to the digit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Assignment, Category, Channel, Demand, Evaluation, Unit, Village
from app.vocab import DONE_STATUSES, AssignmentKind, DemandType, Level, Satisfaction, Status

GROUPS = ("village", "unit", "type", "category", "channel")
GROUP_TITLES = {"village": "村(社区)", "unit": "责任单位", "type": "诉求类型", "category": "诉求类别",
                "channel": "诉求来源"}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def month(cls, text: str) -> Period:
        year, month = (int(x) for x in text.split("-"))
        start = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls(start, nxt - timedelta(days=1))

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def percent(self) -> str:
        v = self.value
        return "—" if v is None else f"{v * 100:.2f}%"


# What each rate counts, printed with every report.
DEFINITIONS = {
    "received": "受理量：受理日期在统计期内的诉求数",
    "valid": "有效诉求：受理日期在统计期内、未被甄别为重复/虚假/不属于受理范围/不合理的诉求数",
    "completion": "办结率 = 办理期限在统计期内的有效诉求中，至统计期末已完成四方会签（已办结/已评价）的数 ÷ 这些诉求数",
    "on_time": "按期办结率 = 上述已办结诉求中，办结日期不晚于办理期限（含批准延期）的数 ÷ 上述已办结数",
    "satisfaction": "满意率 = 评价日期在统计期内的评价中（满意 + 基本满意）÷ 评价数；满意单列",
    "repeat": "重复诉求率 = 受理日期在统计期内、被标为重复诉求（同一诉求人 90 天内再次反映，或初审为重复）的数 ÷ 受理量",
    "village_resolution": "村级自主化解率 = 受理日期在统计期内、首次交办到村级的诉求中，未上移且至统计期末已办结的数 ÷ 首次交办到村级的数",
}


def _group_column(by: str | None) -> Any:
    return {
        None: sa.literal(None),
        "village": Demand.village_id,
        "unit": Demand.unit_id,
        "type": Demand.type,
        "category": Demand.category_id,
        "channel": Demand.channel_id,
    }[by]


def group_labels(session: Session, by: str | None) -> Callable[[Any], str]:
    """Turn a group key into its Chinese label (categories fold into their top level)."""
    if by is None:
        return lambda _k: "合计"
    if by == "type":
        return lambda k: DemandType(k).label if k else "未分类"
    model = {"village": Village, "unit": Unit, "channel": Channel, "category": Category}[by]
    names = dict(session.execute(sa.select(model.id, model.name)).all())
    return lambda k: names.get(k, "未填写")


def category_top(session: Session) -> dict[int, int]:
    rows = session.execute(sa.select(Category.id, Category.parent_id)).all()
    parent = dict(rows)

    def top(cid: int) -> int:
        while parent.get(cid) is not None:
            cid = parent[cid]
        return cid

    return {cid: top(cid) for cid, _ in rows}


def _ratios(session: Session, by: str | None, query: sa.Select) -> dict[Any, Ratio]:
    """Run ``query`` (group, numerator, denominator) and fold categories to their top level."""
    fold = category_top(session) if by == "category" else None
    out: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for key, num, den in session.execute(query):
        if fold is not None and key is not None:
            key = fold.get(key, key)
        out[key][0] += int(num or 0)
        out[key][1] += int(den or 0)
    return {k: Ratio(n, d) for k, (n, d) in out.items()}


def _count_if(cond: Any) -> Any:
    return sa.func.sum(sa.case((cond, 1), else_=0))


def _grouped(by: str | None, num: Any, den: Any, where: list[Any]) -> sa.Select:
    g = _group_column(by)
    q = sa.select(g.label("g"), num, den).where(*where)
    return q.group_by(g) if by else q


def _done_by(end: date) -> Any:
    return sa.and_(Demand.status.in_(DONE_STATUSES), Demand.closed_on <= end)


def received(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> dict[Any, Ratio]:
    """Received demands (numerator) and valid ones (denominator unused: same count)."""
    in_period = Demand.received_on.between(period.start, period.end)
    valid = Demand.status != Status.INVALID
    return _ratios(session, by, _grouped(by, _count_if(valid), sa.func.count(Demand.id), [in_period, *where]))


def completion_rate(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> dict[Any, Ratio]:
    """办结率: closed (four sign-offs) by the period's end / valid demands due in the period."""
    due = sa.and_(Demand.deadline.between(period.start, period.end), Demand.status != Status.INVALID)
    return _ratios(session, by, _grouped(by, _count_if(_done_by(period.end)), sa.func.count(Demand.id),
                                         [due, *where]))


def on_time_rate(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> dict[Any, Ratio]:
    """按期办结率: of the demands counted closed by ``completion_rate``, those closed by their deadline."""
    due_closed = sa.and_(Demand.deadline.between(period.start, period.end), Demand.status != Status.INVALID,
                         _done_by(period.end))
    return _ratios(session, by, _grouped(by, _count_if(Demand.closed_on <= Demand.deadline),
                                         sa.func.count(Demand.id), [due_closed, *where]))


def _evaluations(session: Session, period: Period, by: str | None, where: list[Any], good: tuple) -> dict[Any, Ratio]:
    g = _group_column(by)
    q = (sa.select(g.label("g"), _count_if(Evaluation.result.in_(good)), sa.func.count(Evaluation.id))
         .join(Demand, Demand.id == Evaluation.demand_id)
         .where(Evaluation.evaluated_on.between(period.start, period.end), *where))
    return _ratios(session, by, q.group_by(g) if by else q)


def satisfaction_rate(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> dict[Any, Ratio]:
    """满意率: (满意 + 基本满意) / evaluations made in the period."""
    return _evaluations(session, period, by, list(where), (Satisfaction.SATISFIED, Satisfaction.BASICALLY))


def satisfied_only_rate(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> dict[Any, Ratio]:
    """满意 alone / evaluations made in the period (shown beside 满意率)."""
    return _evaluations(session, period, by, list(where), (Satisfaction.SATISFIED,))


def repeat_rate(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> dict[Any, Ratio]:
    """重复诉求率: demands flagged as repeats / demands received in the period."""
    in_period = Demand.received_on.between(period.start, period.end)
    return _ratios(session, by, _grouped(by, _count_if(Demand.is_repeat.is_(True)), sa.func.count(Demand.id),
                                         [in_period, *where]))


def village_resolution_rate(session: Session, period: Period, by: str | None = None,
                            where: list[Any] = ()) -> dict[Any, Ratio]:
    """村级自主化解率: first assigned to the village level, closed without a transfer up / all such."""
    in_period = Demand.received_on.between(period.start, period.end)
    moved_up = sa.exists().where(Assignment.demand_id == Demand.id, Assignment.kind == AssignmentKind.TRANSFER_UP)
    resolved = sa.and_(_done_by(period.end), ~moved_up)
    return _ratios(session, by, _grouped(by, _count_if(resolved), sa.func.count(Demand.id),
                                         [in_period, Demand.first_level == Level.VILLAGE, *where]))


RATES: dict[str, tuple[str, Callable[..., dict[Any, Ratio]]]] = {
    "completion": ("办结率", completion_rate),
    "on_time": ("按期办结率", on_time_rate),
    "satisfaction": ("满意率", satisfaction_rate),
    "satisfied": ("满意(单列)", satisfied_only_rate),
    "repeat": ("重复诉求率", repeat_rate),
    "village_resolution": ("村级自主化解率", village_resolution_rate),
}


@dataclass
class StatsRow:
    key: Any
    label: str
    received: int
    valid: int
    rates: dict[str, Ratio]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.label, "received": self.received, "valid": self.valid}
        for name, ratio in self.rates.items():
            out[name] = {"numerator": ratio.numerator, "denominator": ratio.denominator,
                         "rate": None if ratio.value is None else round(ratio.value, 6)}
        return out


def stats(session: Session, period: Period, by: str | None = None, where: list[Any] = ()) -> list[StatsRow]:
    """Every rate and the counts behind them, per group (or one total row)."""
    if by is not None and by not in GROUPS:
        raise ValueError(by)
    counts = received(session, period, by, list(where))
    rates = {name: fn(session, period, by, list(where)) for name, (_, fn) in RATES.items()}
    keys = set(counts) | {k for r in rates.values() for k in r}
    label = group_labels(session, by)
    if by is None:
        keys = {None}
    rows = [
        StatsRow(k, label(k), counts.get(k, Ratio(0, 0)).denominator, counts.get(k, Ratio(0, 0)).numerator,
                 {name: r.get(k, Ratio(0, 0)) for name, r in rates.items()})
        for k in keys
    ]
    return sorted(rows, key=lambda r: (-r.received, r.label))

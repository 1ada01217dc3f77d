"""What the 工作台 shows: this month against last month, today's work, trends, villages.

Every figure carries the ``DemandFilter`` of exactly the demands it counts, so a click
opens the ledger on those demands; counts are made with ``queries.count`` over the same
filter, and rates come from ``app.services.rates``, so the dashboard agrees with the
ledger and the reports to the digit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Demand, Village
from app.services import queries, rates
from app.services.queries import DemandFilter
from app.services.rates import Period, Ratio
from app.vocab import DONE_STATUSES, OPEN_STATUSES, Status

VALID_STATUSES = [s for s in Status if s is not Status.INVALID]


@dataclass
class Figure:
    """One number on the dashboard and the demands behind it."""

    key: str
    label: str
    value: int | Ratio
    title: str  # the ledger's title when the figure is opened
    filter: DemandFilter | None  # None: the ledger cannot show exactly these demands
    hint: str = ""

    @property
    def text(self) -> str:
        if isinstance(self.value, Ratio):
            return self.value.percent()
        return f"{self.value:,}"

    @property
    def detail(self) -> str:
        if isinstance(self.value, Ratio):
            return f"{self.value.numerator:,} / {self.value.denominator:,}"
        return ""


@dataclass
class MonthFigures:
    period: Period
    caption: str
    figures: dict[str, Figure]


@dataclass
class TrendPoint:
    period: Period
    label: str  # "2025-03"
    received: int
    closed: int

    def received_filter(self) -> DemandFilter:
        return DemandFilter(received_from=self.period.start, received_to=self.period.end)

    def closed_filter(self) -> DemandFilter:
        return closed_filter(self.period)


@dataclass
class VillageLoad:
    village_id: int
    name: str
    open: int
    overdue: int


@dataclass
class DashboardData:
    today: date
    months: list[MonthFigures]  # this month (to date), last month
    actions: list[Figure]
    trend: list[TrendPoint]
    villages: list[VillageLoad]
    elapsed_ms: float = 0.0


# -- periods --------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def shift_month(day: date, months: int) -> date:
    """The first day of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(first: date) -> Period:
    return Period(first, shift_month(first, 1) - timedelta(days=1))


# -- filters of each figure -----------------------------------------------------------


def received_filter(period: Period) -> DemandFilter:
    return DemandFilter(received_from=period.start, received_to=period.end)


def closed_filter(period: Period) -> DemandFilter:
    """Closed (四方会签 complete) within the period and still closed or evaluated."""
    return DemandFilter(statuses=list(DONE_STATUSES), closed_from=period.start, closed_to=period.end)


def completion_filter(period: Period) -> DemandFilter:
    """The demands 办结率 counts: valid demands whose deadline falls in the period."""
    return DemandFilter(statuses=list(VALID_STATUSES), deadline_from=period.start,
                            deadline_to=period.end)


def on_time_filter(period: Period) -> DemandFilter:
    """The demands 按期办结率 counts: those of 办结率 closed by the period's end."""
    return DemandFilter(statuses=list(DONE_STATUSES), deadline_from=period.start,
                            deadline_to=period.end, closed_to=period.end)


def satisfaction_filter(period: Period) -> DemandFilter:
    """The demands evaluated in the period (满意率 counts their evaluations)."""
    return DemandFilter(evaluated_from=period.start, evaluated_to=period.end)


ACTIONS: list[tuple[str, str, DemandFilter, str]] = [
    ("due_soon", "临期", DemandFilter(due_soon=True), "剩余工作日不超过临期预警天数、正在计时的诉求"),
    ("overdue", "超期", DemandFilter(overdue=True), "已过办理期限、仍未办结且正在计时的诉求"),
    ("awaiting_signoff", "待会签", DemandFilter(statuses=[Status.AWAITING_SIGNOFF]),
     "已办理完毕、四方会签尚未完成的诉求"),
    ("awaiting_evaluation", "待评价", DemandFilter(awaiting_evaluation=True), "四方会签已完成、尚未评价的诉求"),
    ("rework", "不满意二次整改", DemandFilter(rework=True, open_only=True),
     "评价不满意后重新办理、尚未再次办结的诉求"),
]


# -- computing --------------------------------------------------------------------------


def month_figures(session: Session, period: Period, caption: str, today: date) -> MonthFigures:
    def one(ratios: dict[Any, Ratio]) -> Ratio:
        return ratios.get(None, Ratio(0, 0))

    span = f"（{period.label}）"
    received = queries.count(session, received_filter(period), today)
    closed = closed_between(session, period.start, period.end)
    completion = one(rates.completion_rate(session, period))
    on_time = one(rates.on_time_rate(session, period))
    satisfaction = one(rates.satisfaction_rate(session, period))
    satisfied = one(rates.satisfied_only_rate(session, period))
    figures = {
        "received": Figure("received", "受理", received, f"{caption}受理{span}", received_filter(period),
                           rates.DEFINITIONS["received"]),
        "closed": Figure("closed", "办结", closed, f"{caption}办结{span}", closed_filter(period),
                         "办结日期在统计期内、已完成四方会签的诉求数"),
        "completion": Figure("completion", "办结率", completion, f"{caption}应办结诉求{span}",
                             completion_filter(period), rates.DEFINITIONS["completion"]),
        "on_time": Figure("on_time", "按期办结率", on_time, f"{caption}到期已办结诉求{span}",
                          on_time_filter(period), rates.DEFINITIONS["on_time"]),
        "satisfaction": Figure("satisfaction", "满意率", satisfaction, f"{caption}已评价诉求{span}",
                               satisfaction_filter(period),
                               rates.DEFINITIONS["satisfaction"] + f"；其中满意 {satisfied.percent()}"),
    }
    return MonthFigures(period, caption, figures)


def action_figures(session: Session, today: date) -> list[Figure]:
    out = []
    for key, label, f, hint in ACTIONS:
        value = queries.count(session, f, today)
        out.append(Figure(key, label, value, f"{label}诉求（{today.isoformat()}）", f, hint))
    return out


def closed_between(session: Session, start: date, end: date) -> int:
    """How many demands ``closed_filter`` selects for these dates.

    Counted with the condition on ``closed_on`` alone in WHERE (so its index is used;
    SQLite would otherwise pick the far less selective status index) and the status
    checked per row.
    """
    done = sa.func.coalesce(sa.func.sum(sa.case((Demand.status.in_(DONE_STATUSES), 1), else_=0)), 0)
    return int(session.scalar(sa.select(done).where(Demand.closed_on.between(start, end))) or 0)


def received_between(session: Session, start: date, end: date) -> int:
    return int(session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.received_on.between(start, end)))
               or 0)


def trend(session: Session, today: date, months: int = 12) -> list[TrendPoint]:
    """Received and closed per month over the last ``months`` months, this month included.

    One small range count per month: each is an index range scan, much cheaper than
    grouping a year of demands by month.
    """
    first = shift_month(today, -(months - 1))
    points = []
    for i in range(months):
        p = month_period(shift_month(first, i))
        points.append(TrendPoint(p, f"{p.start.year}-{p.start.month:02d}", received_between(session, p.start, p.end),
                                 closed_between(session, p.start, p.end)))
    return points


def village_loads(session: Session, today: date) -> list[VillageLoad]:
    """Open and overdue demands per village, in the township's village order."""
    open_q = (sa.select(Demand.village_id, sa.func.count(Demand.id))
              .where(Demand.status.in_(OPEN_STATUSES)).group_by(Demand.village_id))
    open_n = dict(session.execute(open_q).all())
    late_where = queries.conditions(session, DemandFilter(overdue=True), today)
    late_q = sa.select(Demand.village_id, sa.func.count(Demand.id)).where(*late_where).group_by(Demand.village_id)
    late_n = dict(session.execute(late_q).all())
    villages = session.execute(sa.select(Village.id, Village.name).order_by(Village.sort, Village.id)).all()
    return [VillageLoad(vid, name, int(open_n.get(vid, 0)), int(late_n.get(vid, 0))) for vid, name in villages]


def compute(session: Session, today: date | None = None) -> DashboardData:
    """Everything the dashboard shows, as plain data (safe to hand from a worker thread)."""
    started = time.perf_counter()
    today = today or date.today()
    this_month = Period(month_start(today), today)
    last_month = month_period(shift_month(today, -1))
    months = [
        month_figures(session, this_month, "本月", today),
        month_figures(session, last_month, "上月", today),
    ]
    data = DashboardData(today, months, action_figures(session, today), trend(session, today),
                         village_loads(session, today))
    data.elapsed_ms = (time.perf_counter() - started) * 1000
    return data

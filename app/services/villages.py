"""一村一档: the village tree with its warning marks, and one village's (or grid's) figures.

Counts use ``queries.count`` with the same ``DemandFilter`` the sub-ledger shows, and
rates come from ``app.services.rates`` restricted to the village, so the 一村一档 page,
the ledger and the reports agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Demand, Grid, Village
from app.services import queries, rates
from app.services.dashboard import Figure, shift_month
from app.services.queries import DemandFilter
from app.services.rates import Period, Ratio
from app.vocab import DONE_STATUSES, OPEN_STATUSES

ALL_TIME_START = date(2000, 1, 1)


@dataclass
class GridNode:
    id: int
    name: str
    total: int
    open: int
    overdue: int


@dataclass
class VillageNode:
    id: int
    name: str
    total: int
    open: int
    overdue: int
    grids: list[GridNode] = field(default_factory=list)


def _counts(session: Session, column: Any, where: list[Any]) -> dict[Any, int]:
    q = sa.select(column, sa.func.count(Demand.id)).where(*where).group_by(column)
    return {k: int(n) for k, n in session.execute(q)}


def tree(session: Session, today: date | None = None) -> list[VillageNode]:
    """Every village (township order) with its grids; demand totals, open and overdue counts."""
    today = today or date.today()
    late = queries.conditions(session, DemandFilter(overdue=True), today)
    running = [Demand.status.in_(OPEN_STATUSES)]
    by_village = {name: _counts(session, Demand.village_id, where)
                  for name, where in (("total", []), ("open", running), ("overdue", late))}
    by_grid = {name: _counts(session, Demand.grid_id, where)
               for name, where in (("total", []), ("open", running), ("overdue", late))}
    grids: dict[int, list[GridNode]] = {}
    for gid, vid, name in session.execute(sa.select(Grid.id, Grid.village_id, Grid.name).order_by(Grid.name)):
        grids.setdefault(vid, []).append(GridNode(gid, name, by_grid["total"].get(gid, 0),
                                                  by_grid["open"].get(gid, 0), by_grid["overdue"].get(gid, 0)))
    out = []
    for vid, name in session.execute(sa.select(Village.id, Village.name).order_by(Village.sort, Village.id)):
        out.append(VillageNode(vid, name, by_village["total"].get(vid, 0), by_village["open"].get(vid, 0),
                               by_village["overdue"].get(vid, 0), grids.get(vid, [])))
    return out


@dataclass
class PlaceFigures:
    """One village's (or one grid's) figures over a period."""

    title: str
    period: Period
    scope: DemandFilter  # village_ids or grid_ids: the sub-ledger's base filter
    counts: dict[str, Figure]


def scope_filter(village_id: int | None, grid_id: int | None) -> DemandFilter:
    if grid_id is not None:
        return DemandFilter(grid_ids=[grid_id])
    return DemandFilter(village_ids=[village_id] if village_id is not None else [])


def scope_where(village_id: int | None, grid_id: int | None) -> list[Any]:
    if grid_id is not None:
        return [Demand.grid_id == grid_id]
    return [Demand.village_id == village_id] if village_id is not None else []


def figures(session: Session, village_id: int | None, grid_id: int | None, period: Period,
            today: date | None = None) -> PlaceFigures:
    today = today or date.today()
    scope = scope_filter(village_id, grid_id)
    where = scope_where(village_id, grid_id)

    def within(**kw: Any) -> DemandFilter:
        f = DemandFilter(**kw)
        f.village_ids, f.grid_ids = list(scope.village_ids), list(scope.grid_ids)
        return f

    received_f = within(received_from=period.start, received_to=period.end)
    closed_f = within(statuses=list(DONE_STATUSES), closed_from=period.start, closed_to=period.end)
    open_f = within(open_only=True)
    overdue_f = within(overdue=True)
    due_soon_f = within(due_soon=True)
    def count(key: str, label: str, f: DemandFilter, hint: str) -> Figure:
        return Figure(key, label, queries.count(session, f, today), label, f, hint)

    def rate(key: str, label: str, fn: Any, hint: str) -> Figure:
        return Figure(key, label, fn(session, period, where=where).get(None, Ratio(0, 0)), label, None, hint)

    counts = {f.key: f for f in (
        count("received", "受理", received_f, "受理日期在统计期内的诉求"),
        count("closed", "办结", closed_f, "办结日期在统计期内、四方会签完成的诉求"),
        count("open", "在办", open_f, "目前尚未办结的诉求"),
        count("overdue", "超期", overdue_f, "已过办理期限、仍未办结且正在计时的诉求"),
        count("due_soon", "临期", due_soon_f, "剩余工作日不超过临期预警天数的诉求"),
        rate("completion", "办结率", rates.completion_rate, rates.DEFINITIONS["completion"]),
        rate("satisfaction", "满意率", rates.satisfaction_rate, rates.DEFINITIONS["satisfaction"]),
    )}
    if grid_id is not None:
        grid = session.get(Grid, grid_id)
        title = f"{grid.village.name} › {grid.name}" if grid else "网格"
    else:
        village = session.get(Village, village_id) if village_id is not None else None
        title = village.name if village else "全部村(社区)"
    for f in counts.values():
        f.title = f"{title} {f.label}（{period.label}）" if f.key in ("received", "closed") else f"{title} {f.label}"
    return PlaceFigures(title, period, scope, counts)


PERIODS = ("本年", "本月", "近12个月", "全部")


def period_named(name: str, today: date | None = None) -> Period:
    today = today or date.today()
    if name == "本月":
        return Period(today.replace(day=1), today)
    if name == "近12个月":
        return Period(shift_month(today, -11), today)
    if name == "全部":
        return Period(ALL_TIME_START, today)
    return Period(date(today.year, 1, 1), today)

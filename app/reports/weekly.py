"""The Friday 报账 report: per responsible unit, what it holds and what it did this week.

The week is the seven days ending on the chosen day (normally a Friday). Which unit holds
a demand is read from the assignments made up to the end of that day, so a past week's
report shows the units of that week even after later transfers. Due soon and overdue are
judged at the week's end on the working-day calendar.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, Spacer
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import DomainError
from app.models import (
    Assignment,
    Attachment,
    Demand,
    Pause,
    Petitioner,
    ProgressEntry,
    Unit,
    Village,
)
from app.reports import layout
from app.reports.common import center_name, grid
from app.reports.fonts import para, styles
from app.reports.layout import FRAME_WIDTH
from app.services import settings
from app.services.calendar import load_calendar
from app.vocab import LEVEL_ORDER, Level, Status

TITLE = "群众诉求办理周报账"
CONTENT_CHARS = 48


@dataclass
class HeldDemand:
    code: str
    village: str
    petitioner: str
    content: str
    deadline: date | None
    state: str  # 正常 / 临期 / 超期 / 中止
    remaining: int | None
    progress: list[str] = field(default_factory=list)
    evidence: int = 0


@dataclass
class UnitWeek:
    name: str
    level: Level
    demands: list[HeldDemand]

    @property
    def progress_count(self) -> int:
        return sum(len(d.progress) for d in self.demands)

    @property
    def evidence_count(self) -> int:
        return sum(d.evidence for d in self.demands)

    def count(self, state: str) -> int:
        return sum(1 for d in self.demands if d.state == state)

    @property
    def reported(self) -> bool:
        return self.progress_count > 0 or self.evidence_count > 0


@dataclass
class WeeklyData:
    center: str
    start: date
    end: date
    units: list[UnitWeek]
    received: int
    closed: int
    assigned: int
    due_soon_days: int
    generated: date = field(default_factory=date.today)

    @property
    def held(self) -> int:
        return sum(len(u.demands) for u in self.units)

    @property
    def silent(self) -> list[UnitWeek]:
        return [u for u in self.units if not u.reported]


def week_of(end: date) -> tuple[date, date]:
    return end - timedelta(days=6), end


def last_friday(today: date | None = None) -> date:
    """The Friday ending the current reporting week (today when it is Friday)."""
    today = today or date.today()
    return today - timedelta(days=(today.weekday() - 4) % 7)


def weekly_data(session: Session, week_end: date, today: date | None = None) -> WeeklyData:
    start, end = week_of(week_end)
    end_dt = datetime.combine(end, time.max)
    start_dt = datetime.combine(start, time.min)

    # Held at the week's end: valid, received by then, not closed by then, assigned by then.
    held_q = (
        sa.select(Demand.id, Demand.code, Demand.content, Demand.deadline, Village.name, Petitioner.name)
        .outerjoin(Village, Village.id == Demand.village_id)
        .outerjoin(Petitioner, Petitioner.id == Demand.petitioner_id)
        .where(Demand.status != Status.INVALID, Demand.received_on <= end,
               sa.or_(Demand.closed_on.is_(None), Demand.closed_on > end),
               sa.exists().where(Assignment.demand_id == Demand.id, Assignment.at <= end_dt))
    )
    held = {r[0]: r for r in session.execute(held_q)}
    received = session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.received_on.between(start, end))) or 0
    closed = session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.closed_on.between(start, end))) or 0
    if not held and not received and not closed:
        raise DomainError(f"{start} 至 {end} 这一周没有在办诉求，也没有受理或办结的诉求，无法生成周报账")
    cal = load_calendar(session)
    due_soon_days = int(settings.get(session, "due_soon_days"))
    try:
        soon_limit = cal.add_workdays(end, due_soon_days)
    except ValueError as exc:  # outside the calendar's years
        raise DomainError(f"无法统计 {start} 至 {end} 这一周：{exc}") from None
    ids = list(held)
    holder: dict[int, int] = {}
    if ids:
        for did, unit_id in session.execute(
                sa.select(Assignment.demand_id, Assignment.to_unit_id)
                .where(Assignment.demand_id.in_(ids), Assignment.at <= end_dt)
                .order_by(Assignment.at, Assignment.id)):
            holder[did] = unit_id
    progress: dict[int, list[str]] = defaultdict(list)
    for did, done_on, text in session.execute(
            sa.select(ProgressEntry.demand_id, ProgressEntry.done_on, ProgressEntry.text)
            .where(ProgressEntry.done_on.between(start, end)).order_by(ProgressEntry.done_on, ProgressEntry.id)):
        progress[did].append(f"{done_on:%m-%d} {text}")
    evidence: dict[int, int] = {did: n for did, n in session.execute(
        sa.select(Attachment.demand_id, sa.func.count(Attachment.id))
        .where(Attachment.at.between(start_dt, end_dt), Attachment.kind != "scan")
        .group_by(Attachment.demand_id))}
    paused = set(session.scalars(sa.select(Pause.demand_id).where(
        Pause.paused_on <= end, sa.or_(Pause.resumed_on.is_(None), Pause.resumed_on > end))))
    units = {u.id: u for u in session.scalars(sa.select(Unit))}

    by_unit: dict[int, list[HeldDemand]] = defaultdict(list)
    for did, (_, code, content, deadline, village, petitioner) in held.items():
        if did not in holder:
            continue
        remaining = cal.remaining(end, deadline) if deadline else None
        if did in paused:
            state = "中止"
        elif remaining is not None and remaining < 0:
            state = "超期"
        elif deadline is not None and deadline <= soon_limit:
            state = "临期"
        else:
            state = "正常"
        short = content.strip().replace("\n", " ")
        short = short if len(short) <= CONTENT_CHARS else short[:CONTENT_CHARS] + "…"
        by_unit[holder[did]].append(HeldDemand(code, village or "", petitioner or "", short, deadline, state,
                                                remaining, progress.get(did, []), evidence.get(did, 0)))
    order = {"超期": 0, "临期": 1, "中止": 2, "正常": 3}
    unit_weeks = [
        UnitWeek(units[uid].name, units[uid].level,
                 sorted(items, key=lambda h: (order[h.state], h.deadline or date.max, h.code)))
        for uid, items in by_unit.items()
    ]
    unit_weeks.sort(key=lambda u: (LEVEL_ORDER[u.level], u.name))
    assigned = session.scalar(sa.select(sa.func.count(sa.distinct(Assignment.demand_id))).where(
        Assignment.at.between(start_dt, end_dt))) or 0
    return WeeklyData(center_name(session), start, end, unit_weeks, received, closed, assigned, due_soon_days,
                      generated=today or date.today())


def _story(data: WeeklyData) -> list[Flowable]:
    st = styles()
    w = FRAME_WIDTH
    period = f"{data.start.isoformat()} 至 {data.end.isoformat()}"
    story: list[Flowable] = [
        para(TITLE, st.title), para(f"{data.center}　报账周期：{period}", st.subtitle),
        para(f"本周受理 {data.received} 件，交办或移交 {data.assigned} 件，办结 {data.closed} 件；截至 {data.end} "
             f"在办 {data.held} 件，涉及责任单位 {len(data.units)} 个，其中本周未报账 {len(data.silent)} 个。",
             st.body),
        Spacer(1, 3 * mm), para("一、各责任单位报账汇总", st.heading),
    ]
    rows: list[list[object]] = [[u.name, u.level.label, len(u.demands), u.progress_count, u.evidence_count, u.count("临期"),
             u.count("超期"), u.count("中止"), "已报账" if u.reported else "未报账"] for u in data.units]
    total: list[list[object]] = [["合计", "", data.held, sum(u.progress_count for u in data.units),
              sum(u.evidence_count for u in data.units), sum(u.count("临期") for u in data.units),
              sum(u.count("超期") for u in data.units), sum(u.count("中止") for u in data.units),
              f"未报账 {len(data.silent)} 个"]]
    story.append(grid(["责任单位", "层级", "在办", "本周进展", "本周佐证", "临期", "超期", "中止", "报账情况"],
                      rows + total, [w - 125 * mm, 13 * mm, 12 * mm, 16 * mm, 16 * mm, 12 * mm, 12 * mm, 12 * mm,
                                     32 * mm], total_row=True, centered=(1, 2, 3, 4, 5, 6, 7, 8)))
    story += [Spacer(1, 4 * mm), para("二、本周未报账的单位", st.heading)]
    if data.silent:
        story.append(grid(["责任单位", "在办", "其中超期", "其中临期"],
                          [[u.name, len(u.demands), u.count("超期"), u.count("临期")] for u in data.silent],
                          [w - 60 * mm, 20 * mm, 20 * mm, 20 * mm], centered=(1, 2, 3)))
    else:
        story.append(para("各责任单位本周均已报账。", st.body))
    story += [Spacer(1, 4 * mm), para("三、各责任单位在办诉求明细", st.heading)]
    for u in data.units:
        story += [CondPageBreak(40 * mm), para(f"{u.name}（{u.level.label}级，在办 {len(u.demands)} 件）", st.heading)]
        detail = []
        for h in u.demands:
            left = "" if h.remaining is None or h.state == "中止" else (
                f"剩 {h.remaining} 工作日" if h.remaining >= 0 else f"超 {-h.remaining} 工作日")
            done = "；".join(h.progress) or "本周无进展"
            if h.evidence:
                done += f"（佐证 {h.evidence} 份）"
            detail.append([para(h.code, st.mono), f"{h.village}\n{h.petitioner}", h.content,
                           f"{h.deadline or ''}\n{h.state}\n{left}".strip(), done])
        story.append(grid(["案件编号", "村(社区)\n反映人", "诉求内容", "期限 / 状态", "本周进展"], detail,
                          [43 * mm, 20 * mm, w - 127 * mm, 26 * mm, 38 * mm]))
    story += [Spacer(1, 4 * mm), para(
        f"口径：在办 = 截至周末已交办、未办结（四方会签未完成）的有效诉求，按周末时的承办单位归属；本周进展 = 进展日期在本周的"
        f"办理进展条数；本周佐证 = 本周上传的佐证材料份数；临期 = 周末起 {data.due_soon_days} 个工作日内到期；超期 = "
        "期限早于周末；中止 = 周末时处于中止计时。报账情况：本周既无进展也无佐证的单位为“未报账”。", st.small)]
    return story


def render_weekly(data: WeeklyData) -> layout.Built:
    setup = layout.PageSetup(title=TITLE, center=data.center, right=f"报账周期：{data.start} 至 {data.end}",
                             generated=data.generated)
    return layout.render(lambda _k, _t, _m: _story(data), setup)


def make_weekly_report(db: Database, week_end: date, out: Path) -> Path:
    with db.read() as s:
        data = weekly_data(s, week_end)
    return layout.write(render_weekly(data).data, out)

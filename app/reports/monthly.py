"""The monthly statistics report, in full (for the district) or as the 公示 version.

Every figure comes from ``app.services.rates`` (one function per rate), so this report,
the dashboard and ``kuaichu stats`` agree to the digit for the same month; the counts
behind each rate are printed beside it and the definitions at the end. The 公示 version
masks names and phone numbers with ``app.personal`` (the one masking rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import DomainError
from app.models import Demand, Pause, Petitioner, Unit, Village
from app.personal import format_phone, mask_name, mask_phone
from app.reports import layout
from app.reports.common import center_name, grid
from app.reports.fonts import fonts, para, styles
from app.reports.layout import FRAME_WIDTH
from app.services import rates
from app.services.calendar import load_calendar
from app.services.rates import Period, Ratio, StatsRow
from app.vocab import Status

TITLE = "群众诉求办理情况月度统计报表"
PUBLIC_SUFFIX = "（公示版）"
TREND_MONTHS = 12
GROUP_ORDER = ("village", "type", "category", "channel", "unit")
RATE_COLUMNS = ("completion", "on_time", "satisfaction", "satisfied", "repeat", "village_resolution")
BAR_COLORS = (HexColor("#3C6E9F"), HexColor("#C8553D"))
LINE_COLORS = (HexColor("#3C6E9F"), HexColor("#2E8B57"))


@dataclass
class TrendPoint:
    label: str
    received: int
    completion: Ratio
    satisfaction: Ratio


@dataclass
class OverdueRow:
    code: str
    village: str
    petitioner: str
    phone: str
    type: str
    unit: str
    deadline: date
    overdue_days: int


@dataclass
class MonthlyData:
    center: str
    month: str
    period: Period
    as_of: date
    public: bool
    total: StatsRow
    groups: dict[str, list[StatsRow]]
    trend: list[TrendPoint]
    overdue: list[OverdueRow]
    generated: date = field(default_factory=date.today)

    @property
    def title(self) -> str:
        return TITLE + (PUBLIC_SUFFIX if self.public else "")


def parse_month(text: str) -> Period:
    try:
        year, month = (int(x) for x in text.strip().split("-"))
        if not (1 <= month <= 12 and 2000 <= year <= 2100):
            raise ValueError(text)
        return Period.month(f"{year}-{month:02d}")
    except ValueError:
        raise DomainError(f"“{text}”不是 YYYY-MM 格式的月份（例如 2025-03）") from None


def _month_back(period: Period, n: int) -> Period:
    y, m = period.start.year, period.start.month - n
    while m <= 0:
        y, m = y - 1, m + 12
    return Period.month(f"{y}-{m:02d}")


def monthly_data(session: Session, month: str, public: bool = False, today: date | None = None) -> MonthlyData:
    period = parse_month(month)
    today = today or date.today()
    total = rates.stats(session, period)[0]
    if total.received == 0 and all(r.denominator == 0 for r in total.rates.values()):
        raise DomainError(f"{period.start:%Y年%m月} 没有受理、到期或评价的诉求，无法生成月度统计报表")
    groups = {by: rates.stats(session, period, by) for by in GROUP_ORDER}
    trend = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        p = _month_back(period, back)
        trend.append(TrendPoint(
            f"{p.start.year % 100:02d}-{p.start.month:02d}",
            rates.received(session, p).get(None, Ratio(0, 0)).denominator,
            rates.completion_rate(session, p).get(None, Ratio(0, 0)),
            rates.satisfaction_rate(session, p).get(None, Ratio(0, 0)),
        ))
    as_of = min(period.end, today)
    cal = load_calendar(session)
    paused = set(session.scalars(sa.select(Pause.demand_id).where(
        Pause.paused_on <= as_of, sa.or_(Pause.resumed_on.is_(None), Pause.resumed_on > as_of))))
    q = (
        sa.select(Demand, Village.name, Unit.name, Petitioner.name, Petitioner.phone)
        .outerjoin(Village, Village.id == Demand.village_id)
        .outerjoin(Unit, Unit.id == Demand.unit_id)
        .outerjoin(Petitioner, Petitioner.id == Demand.petitioner_id)
        .where(Demand.status != Status.INVALID, Demand.received_on <= as_of, Demand.deadline < as_of,
               sa.or_(Demand.closed_on.is_(None), Demand.closed_on > as_of))
        .order_by(Demand.deadline, Demand.code)
    )
    overdue = []
    for d, village, unit, name, phone in session.execute(q):
        if d.id in paused:
            continue
        shown_name = mask_name(name) if public else (name or "")
        shown_phone = mask_phone(phone) if public else format_phone(phone or "")
        overdue.append(OverdueRow(d.code, village or "", shown_name, shown_phone, d.type.label, unit or "",
                                  d.deadline, cal.workdays_between(d.deadline, as_of)))
    return MonthlyData(center_name(session), f"{period.start.year}年{period.start.month}月", period, as_of, public,
                       total, groups, trend, overdue, generated=today)


def _ratio_cell(r: Ratio) -> str:
    return f"{r.percent()}\n{r.numerator}/{r.denominator}"


def _stats_table(rows: list[StatsRow], first: str, total: StatsRow | None = None) -> Flowable:
    w = FRAME_WIDTH
    header = [first, "受理", "有效"] + [rates.RATES[k][0] for k in RATE_COLUMNS]
    body = [[r.label, r.received, r.valid] + [_ratio_cell(r.rates[k]) for k in RATE_COLUMNS] for r in rows]
    if total is not None:
        body.append(["合计", total.received, total.valid] + [_ratio_cell(total.rates[k]) for k in RATE_COLUMNS])
    rest = (w - 28 * mm - 24 * mm) / len(RATE_COLUMNS)
    return grid(header, body, [28 * mm, 12 * mm, 12 * mm] + [rest] * len(RATE_COLUMNS),
                total_row=total is not None, centered=tuple(range(1, 3 + len(RATE_COLUMNS))))


def _title(drawing: Drawing, text: str) -> None:
    drawing.add(String(drawing.width / 2, drawing.height - 12, text, fontName=fonts().role_font["title"],
                       fontSize=11, textAnchor="middle"))


def _legend(drawing: Drawing, items: list[tuple[object, str]], x: float, y: float) -> None:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontName = fonts().role_font["table"]
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 75
    legend.dxTextSpace = 4
    legend.dx = legend.dy = 7
    legend.colorNamePairs = items
    drawing.add(legend)


def _village_chart(rows: list[StatsRow]) -> Drawing:
    font = fonts().role_font["table"]
    rows = sorted(rows, key=lambda r: r.label)
    d = Drawing(FRAME_WIDTH, 78 * mm)
    _title(d, "各村(社区)受理量与办结件数")
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 48, FRAME_WIDTH - 45, 78 * mm - 85
    chart.data = [[r.received for r in rows], [r.rates["completion"].numerator for r in rows]]
    chart.categoryAxis.categoryNames = [r.label for r in rows]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.angle = 35
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.categoryAxis.labels.dx, chart.categoryAxis.labels.dy = 4, -2
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6
    chart.barLabelFormat = "%d"
    chart.barLabels.nudge = 5
    for i, color in enumerate(BAR_COLORS):
        chart.bars[i].fillColor = color
        chart.bars[i].strokeColor = None
    chart.barSpacing = 1
    chart.groupSpacing = 6
    d.add(chart)
    _legend(d, [(BAR_COLORS[0], "受理量"), (BAR_COLORS[1], "办结件数（到期应办结中）")], FRAME_WIDTH - 190,
            78 * mm - 24)
    return d


def _trend_charts(trend: list[TrendPoint]) -> Drawing:
    font = fonts().role_font["table"]
    half = FRAME_WIDTH / 2
    d = Drawing(FRAME_WIDTH, 72 * mm)
    labels = [t.label for t in trend]
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 28, 30, half - 40, 72 * mm - 62
    bars.data = [[t.received for t in trend]]
    bars.categoryAxis.categoryNames = labels
    bars.bars[0].fillColor = BAR_COLORS[0]
    bars.bars[0].strokeColor = None
    bars.valueAxis.valueMin = 0
    lines = HorizontalLineChart()
    lines.x, lines.y, lines.width, lines.height = half + 28, 30, half - 40, 72 * mm - 62
    lines.data = [[round((t.completion.value or 0) * 100, 2) for t in trend],
                  [round((t.satisfaction.value or 0) * 100, 2) for t in trend]]
    lines.categoryAxis.categoryNames = labels
    lines.valueAxis.valueMin = 0
    lines.valueAxis.valueMax = 100
    lines.valueAxis.valueStep = 20
    for i, color in enumerate(LINE_COLORS):
        lines.lines[i].strokeColor = color
        lines.lines[i].strokeWidth = 1.5
    for chart in (bars, lines):
        chart.categoryAxis.labels.fontName = font
        chart.categoryAxis.labels.fontSize = 7
        chart.categoryAxis.labels.angle = 45
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.valueAxis.labels.fontName = font
        chart.valueAxis.labels.fontSize = 7
        d.add(chart)
    fs = fonts()
    for x, text in ((half / 2, "近 12 个月受理量（件）"), (half + half / 2, "近 12 个月办结率、满意率（%）")):
        d.add(String(x, d.height - 12, text, fontName=fs.role_font["title"], fontSize=10, textAnchor="middle"))
    _legend(d, [(LINE_COLORS[0], "办结率"), (LINE_COLORS[1], "满意率")], half + 60, d.height - 24)
    return d


def _story(data: MonthlyData) -> list[Flowable]:
    st = styles()
    w = FRAME_WIDTH
    t = data.total
    story: list[Flowable] = [
        para(data.title, st.title),
        para(f"{data.center}　统计期：{data.period.label}（{data.month}）", st.subtitle),
        para(f"本月受理诉求 {t.received} 件，其中有效 {t.valid} 件；办理期限在本月的有效诉求 "
             f"{t.rates['completion'].denominator} 件，已办结 {t.rates['completion'].numerator} 件，"
             f"办结率 {t.rates['completion'].percent()}，按期办结率 {t.rates['on_time'].percent()}；"
             f"本月评价 {t.rates['satisfaction'].denominator} 件，满意率 {t.rates['satisfaction'].percent()}"
             f"（满意 {t.rates['satisfied'].percent()}）；重复诉求率 {t.rates['repeat'].percent()}；"
             f"村级自主化解率 {t.rates['village_resolution'].percent()}。截至 {data.as_of} 超期未办结 "
             f"{len(data.overdue)} 件。", st.body),
        Spacer(1, 3 * mm), para("一、总体情况", st.heading), _stats_table([], "项目", t),
        Spacer(1, 3 * mm), para("二、图表", st.heading),
        _village_chart(data.groups["village"]), Spacer(1, 2 * mm), _trend_charts(data.trend),
    ]
    n = 3
    for by in GROUP_ORDER:
        title = rates.GROUP_TITLES[by]
        story += [CondPageBreak(50 * mm), para(f"{_cn(n)}、按{title}统计", st.heading),
                  _stats_table(data.groups[by], title, t)]
        n += 1
    story += [CondPageBreak(40 * mm), para(f"{_cn(n)}、截至 {data.as_of} 超期未办结的诉求（{len(data.overdue)} 件）",
                                           st.heading)]
    if data.overdue:
        rows = [[para(o.code, st.mono), o.village, o.petitioner, o.phone, o.type, o.unit, o.deadline.isoformat(),
                 o.overdue_days] for o in data.overdue]
        story.append(grid(["案件编号", "村(社区)", "反映人", "联系电话", "类型", "责任单位", "办理期限", "超期\n工作日"],
                          rows, [43 * mm, 17 * mm, 14 * mm, 27 * mm, 10 * mm, w - 146 * mm, 21 * mm, 14 * mm],
                          centered=(4, 6, 7)))
    else:
        story.append(para("无。", st.body))
    notes = [para("口径说明", st.heading)]
    notes += [para(f"{i}. {text}", st.small) for i, text in enumerate(rates.DEFINITIONS.values(), 1)]
    notes.append(para("各率之后为“分子/分母”；按诉求类别统计时归入一级类别。", st.small))
    if data.public:
        notes.append(para("本表为公示版：反映人姓名只保留姓氏，电话号码只保留前三位和后四位（统一脱敏规则）。", st.small))
    else:
        notes.append(para("本表含个人信息（反映人姓名、电话），仅供报送区群众诉求综合服务中心使用，不得公开张贴；"
                          "公开张贴请使用公示版。", st.small))
    story += [Spacer(1, 4 * mm), KeepTogether(notes)]
    return story


def _cn(n: int) -> str:
    return "零一二三四五六七八九十"[n] if n <= 10 else str(n)


def render_monthly(data: MonthlyData) -> layout.Built:
    setup = layout.PageSetup(title=data.title, center=data.center, right=f"统计期：{data.period.label}",
                             generated=data.generated)
    return layout.render(lambda _k, _t, _m: _story(data), setup)


def make_monthly_report(db: Database, month: str, out: Path, public: bool = False) -> Path:
    with db.read() as s:
        data = monthly_data(s, month, public)
    return layout.write(render_monthly(data).data, out)


def previous_month(today: date | None = None) -> str:
    first = (today or date.today()).replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"

"""工作台: this month against last month, today's work, a 12-month trend and a by-village chart.

Every number is a button: clicking it asks the navigator to open the ledger filtered to
exactly the demands it counts. The figures are computed off the GUI thread
(``app.services.dashboard.compute``).
"""

from __future__ import annotations

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.services import dashboard
from app.services.dashboard import DashboardData, Figure
from app.services.queries import DemandFilter
from app.services.rates import Ratio
from app.views.background import BackgroundReader, RefreshOnShow
from app.views.context import AppContext

RED = "#c62828"
AMBER = "#b26a00"
BLUE = "#1565c0"
GREEN = "#2e7d32"
ACTION_COLOURS = {"overdue": RED, "due_soon": AMBER, "rework": RED}


class FigureButton(QPushButton):
    """A big number with its caption; clicking it opens the ledger on the demands it counts."""

    def __init__(self, caption: str, colour: str = "#202020", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.figure: Figure | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumSize(118, 72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setStyleSheet(
            "FigureButton { border: 1px solid #d0d7de; border-radius: 6px; background: #ffffff; }"
            "FigureButton:hover { background: #eef4fb; border-color: #7aa7d9; }"
            "FigureButton:focus { border: 2px solid #1565c0; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(0)
        self.number = QLabel("…")
        self.number.setStyleSheet(f"font-size: 24px; font-weight: bold; color: {colour};")
        self.label = QLabel(caption)
        self.label.setStyleSheet("font-size: 13px; color: #444;")
        self.extra = QLabel("")
        self.extra.setStyleSheet("font-size: 11px; color: #777;")
        for w in (self.number, self.label, self.extra):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(w)
        self.setAccessibleName(caption)

    @property
    def number_text(self) -> str:
        return self.number.text()

    def show_figure(self, figure: Figure, compare: Figure | None = None) -> None:
        self.figure = figure
        self.number.setText(figure.text)
        extra = figure.detail
        if compare is not None and not isinstance(figure.value, Ratio) and not isinstance(compare.value, Ratio):
            diff = figure.value - compare.value
            extra = f"较上月 {'+' if diff > 0 else ''}{diff:,}"
        self.extra.setText(extra)
        tip = figure.hint
        if figure.detail:
            tip = f"{figure.detail}（分子 / 分母）\n{tip}"
        if figure.filter is None:
            tip += "\n（台账尚不能按此口径筛选，暂不能打开明细）"
            self.setCursor(Qt.CursorShape.ArrowCursor)
        else:
            tip += "\n点击在台账中查看这些诉求"
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(tip)
        self.setAccessibleName(f"{self.caption} {figure.text}")


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setStyleSheet("font-weight: bold; font-size: 14px; color: #333; margin-top: 6px;")
    return label


class DashboardView(RefreshOnShow, QWidget):
    """The 工作台 screen."""

    loaded = Signal()  # emitted after fresh figures are shown

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.data: DashboardData | None = None
        self._stale = True
        self.reader = BackgroundReader(ctx.db, self)
        self.reader.finished.connect(self._show_data)
        self.reader.failed.connect(self._show_error)
        ctx.nav.data_changed.connect(self._on_data_changed)

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel("工作台")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        head.addWidget(title)
        self.status = QLabel("正在统计…")
        self.status.setStyleSheet("color: #666;")
        head.addWidget(self.status, 1)
        self.refresh_button = QPushButton("刷新(F5)")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(self.refresh)
        head.addWidget(self.refresh_button)
        outer.addLayout(head)

        self.tiles: dict[str, FigureButton] = {}
        outer.addWidget(_section("本月与上月"))
        months = QGridLayout()
        self.month_captions: list[QLabel] = []
        for row, prefix in enumerate(("this", "last")):
            caption = QLabel("本月" if prefix == "this" else "上月")
            caption.setStyleSheet("font-weight: bold;")
            caption.setMinimumWidth(150)
            caption.setWordWrap(True)
            self.month_captions.append(caption)
            months.addWidget(caption, row, 0)
            for col, (key, label) in enumerate((("received", "受理"), ("closed", "办结"), ("completion", "办结率"),
                                                ("on_time", "按期办结率"), ("satisfaction", "满意率")), start=1):
                button = FigureButton(label, BLUE if key in ("received", "closed") else GREEN)
                button.clicked.connect(lambda _=False, k=f"{prefix}.{key}": self.open_figure(k))
                self.tiles[f"{prefix}.{key}"] = button
                months.addWidget(button, row, col)
        outer.addLayout(months)

        outer.addWidget(_section("今日待办"))
        actions = QHBoxLayout()
        for key, label, _f, _hint in dashboard.ACTIONS:
            button = FigureButton(label, ACTION_COLOURS.get(key, BLUE))
            button.clicked.connect(lambda _=False, k=f"action.{key}": self.open_figure(k))
            self.tiles[f"action.{key}"] = button
            actions.addWidget(button)
        outer.addLayout(actions)

        charts = QHBoxLayout()
        self.trend_view = QChartView()
        self.village_view = QChartView()
        for view in (self.trend_view, self.village_view):
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumHeight(260)
            view.setFrameShape(QFrame.Shape.StyledPanel)
        charts.addWidget(self.trend_view, 3)
        charts.addWidget(self.village_view, 2)
        outer.addLayout(charts, 1)
        self.trend_chart: QChart | None = None
        self.village_chart: QChart | None = None

    # -- loading ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute every figure in the background; ``loaded`` fires when shown."""
        self._stale = False
        self.status.setText("正在统计…")
        self.refresh_button.setEnabled(False)
        self.reader.start(dashboard.compute)

    def _show_error(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {RED};")

    def _show_data(self, data: DashboardData) -> None:
        self.data = data
        self.refresh_button.setEnabled(True)
        self.status.setStyleSheet("color: #666;")
        self.status.setText(f"统计日期 {data.today.isoformat()}（用时 {data.elapsed_ms:.0f} 毫秒）；"
                            "点击数字或柱子查看对应诉求")
        this, last = data.months
        for caption, month in zip(self.month_captions, data.months, strict=True):
            caption.setText(f"{month.caption}\n{month.period.start:%m-%d} 至 {month.period.end:%m-%d}")
        for key, figure in this.figures.items():
            self.tiles[f"this.{key}"].show_figure(figure, last.figures[key])
        for key, figure in last.figures.items():
            self.tiles[f"last.{key}"].show_figure(figure)
        for figure in data.actions:
            self.tiles[f"action.{figure.key}"].show_figure(figure)
        self._build_trend(data)
        self._build_villages(data)
        self.loaded.emit()

    # -- navigation ----------------------------------------------------------------------

    def figure(self, key: str) -> Figure | None:
        tile = self.tiles.get(key)
        return tile.figure if tile is not None else None

    def open_figure(self, key: str) -> None:
        figure = self.figure(key)
        if figure is not None and figure.filter is not None:
            self.ctx.nav.open_ledger.emit(figure.filter, figure.title)

    def open_trend(self, index: int, closed: bool) -> None:
        if self.data is None or not 0 <= index < len(self.data.trend):
            return
        point = self.data.trend[index]
        if closed:
            self.ctx.nav.open_ledger.emit(point.closed_filter(), f"{point.label} 办结的诉求")
        else:
            self.ctx.nav.open_ledger.emit(point.received_filter(), f"{point.label} 受理的诉求")

    def open_village(self, index: int, overdue: bool) -> None:
        if self.data is None:
            return
        shown = self._village_rows(self.data)
        if not 0 <= index < len(shown):
            return
        village = shown[index]
        if overdue:
            f = DemandFilter(village_ids=[village.village_id], overdue=True)
            self.ctx.nav.open_ledger.emit(f, f"{village.name} 超期诉求")
        else:
            f = DemandFilter(village_ids=[village.village_id], open_only=True)
            self.ctx.nav.open_ledger.emit(f, f"{village.name} 在办诉求")

    # -- charts --------------------------------------------------------------------------

    def _build_trend(self, data: DashboardData) -> None:
        chart = QChart()
        chart.setTitle("近 12 个月受理与办结（点击柱子查看明细）")
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        received, closed = QBarSet("受理"), QBarSet("办结")
        received.setColor(QColor(BLUE))
        closed.setColor(QColor(GREEN))
        for point in data.trend:
            received.append(point.received)
            closed.append(point.closed)
        received.clicked.connect(lambda i: self.open_trend(i, False))
        closed.clicked.connect(lambda i: self.open_trend(i, True))
        series = QBarSeries()
        series.append(received)
        series.append(closed)
        chart.addSeries(series)
        axis_x = QBarCategoryAxis()
        axis_x.append([f"{p.period.start.month}月" for p in data.trend])
        axis_y = QValueAxis()
        axis_y.setLabelFormat("%d")
        top = max([p.received for p in data.trend] + [p.closed for p in data.trend] + [1])
        axis_y.setRange(0, top * 1.1)
        axis_y.applyNiceNumbers()
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_x)
        series.attachAxis(axis_y)
        self._swap_chart(self.trend_view, chart, "trend_chart")

    @staticmethod
    def _village_rows(data: DashboardData) -> list[dashboard.VillageLoad]:
        # Drawn bottom-up by the horizontal chart: reverse so the first village is on top.
        return list(reversed(data.villages))

    def _build_villages(self, data: DashboardData) -> None:
        chart = QChart()
        chart.setTitle("各村(社区)在办与超期（点击查看）")
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        rows = self._village_rows(data)
        open_set, late_set = QBarSet("在办"), QBarSet("超期")
        open_set.setColor(QColor(BLUE))
        late_set.setColor(QColor(RED))
        for v in rows:
            open_set.append(v.open)
            late_set.append(v.overdue)
        open_set.clicked.connect(lambda i: self.open_village(i, False))
        late_set.clicked.connect(lambda i: self.open_village(i, True))
        series = QHorizontalBarSeries()
        series.append(open_set)
        series.append(late_set)
        chart.addSeries(series)
        axis_y = QBarCategoryAxis()
        axis_y.append([v.name for v in rows] or ["—"])
        small = QFont(self.font())
        small.setPointSizeF(8.5)
        axis_y.setLabelsFont(small)
        axis_y.setTruncateLabels(False)
        axis_x = QValueAxis()
        axis_x.setLabelFormat("%d")
        axis_x.setRange(0, max([v.open for v in rows] + [1]) * 1.1)
        axis_x.applyNiceNumbers()
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_y)
        series.attachAxis(axis_x)
        self.village_view.setMinimumHeight(max(260, 22 * len(rows) + 90))
        self._swap_chart(self.village_view, chart, "village_chart")

    def _swap_chart(self, view: QChartView, chart: QChart, attr: str) -> None:
        old = view.chart()
        view.setChart(chart)
        setattr(self, attr, chart)
        if old is not None and old is not chart:
            old.deleteLater()

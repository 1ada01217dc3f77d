"""一村一档: the tree of villages and grids; one village's sub-ledger with its figures.

Villages with overdue demands carry a red mark and the count. Choosing a village (or a
grid) shows its counts, 办结率 and 满意率 over the chosen period, and the ledger filtered
to it; clicking a count narrows that sub-ledger to exactly those demands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.services import villages
from app.services.rates import Period
from app.services.villages import PlaceFigures, VillageNode
from app.views import tasks
from app.views.background import BackgroundReader, RefreshOnShow
from app.views.context import AppContext
from app.views.dashboard import RED, FigureButton

VILLAGE_ROLE = Qt.ItemDataRole.UserRole
GRID_ROLE = Qt.ItemDataRole.UserRole + 1


def dot_icon(colour: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


@dataclass
class VillagesData:
    tree: list[VillageNode] | None
    figures: PlaceFigures | None


class VillagesView(RefreshOnShow, QWidget):
    """The 一村一档 screen."""

    loaded = Signal()  # the tree and the chosen place's figures are shown

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.views.ledger import LedgerView  # the ledger screen imports lazily, once built

        self.ctx = ctx
        self.nodes: list[VillageNode] = []
        self.place: tuple[int | None, int | None] = (None, None)  # (village id, grid id)
        self.current: PlaceFigures | None = None
        self._stale = True
        self.export_task: tasks.Task | None = None  # the last export started here
        self.reader = BackgroundReader(ctx.db, self)
        self.reader.finished.connect(self._show)
        self.reader.failed.connect(lambda m: self.status.setText(m))
        ctx.nav.data_changed.connect(self._on_data_changed)
        self.late_icon = dot_icon(RED)
        self.ok_icon = dot_icon("#9e9e9e")

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel("一村一档")
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        head.addWidget(title)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #666;")
        head.addWidget(self.status, 1)
        self.export_all_button = QPushButton("导出一村一档工作簿")
        self.export_all_button.setObjectName("export_villages")
        self.export_all_button.setToolTip("选择统计期，导出一个工作簿：汇总表（各村受理数、办结率、满意率等）"
                                          "加每村一个工作表")
        self.export_all_button.clicked.connect(lambda: self.export_workbook())
        head.addWidget(self.export_all_button)
        outer.addLayout(head)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter, 1)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["村(社区) / 网格", "在办", "超期"])
        self.tree.setIconSize(QSize(12, 12))
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        for col in (1, 2):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumWidth(240)
        self.tree.currentItemChanged.connect(self._item_chosen)
        splitter.addWidget(self.tree)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        place_row = QHBoxLayout()
        self.place_label = QLabel("请选择村(社区)")
        self.place_label.setStyleSheet("font-size: 18px; font-weight: bold;")
        place_row.addWidget(self.place_label, 1)
        place_row.addWidget(QLabel("统计期："))
        self.period_box = QComboBox()
        self.period_box.addItems(list(villages.PERIODS))
        self.period_box.currentIndexChanged.connect(lambda _i: self._load_figures())
        place_row.addWidget(self.period_box)
        self.export_village_button = QPushButton("导出本村台账")
        self.export_village_button.setObjectName("export_village")
        self.export_village_button.setToolTip("按右侧的统计期导出所选村(社区)的台账：汇总表加本村工作表")
        self.export_village_button.setEnabled(False)
        self.export_village_button.clicked.connect(lambda: self.export_village())
        place_row.addWidget(self.export_village_button)
        rl.addLayout(place_row)
        self.period_label = QLabel("")
        self.period_label.setStyleSheet("color: #666;")
        rl.addWidget(self.period_label)
        tiles = QHBoxLayout()
        self.tiles: dict[str, FigureButton] = {}
        colours = {"overdue": RED, "due_soon": "#b26a00", "completion": "#2e7d32", "satisfaction": "#2e7d32"}
        for key, label in (("received", "受理"), ("closed", "办结"), ("open", "在办"), ("overdue", "超期"),
                           ("due_soon", "临期"), ("completion", "办结率"), ("satisfaction", "满意率")):
            tile = FigureButton(label, colours.get(key, "#1565c0"))
            tile.setMinimumSize(96, 66)
            tile.clicked.connect(lambda _=False, k=key: self.narrow(k))
            self.tiles[key] = tile
            tiles.addWidget(tile)
        rl.addLayout(tiles)
        self.ledger = LedgerView(ctx, base_filter=villages.scope_filter(None, None))
        rl.addWidget(self.ledger, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 900])

    # -- loading ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the tree and the chosen place's figures (in the background)."""
        self._stale = False
        self.status.setText("正在统计…")
        village_id, grid_id = self.place
        period = villages.period_named(self.period_box.currentText())

        def work(session: Session) -> VillagesData:
            nodes = villages.tree(session)
            vid = village_id if village_id is not None else (nodes[0].id if nodes else None)
            figs = villages.figures(session, vid, grid_id, period) if vid is not None or grid_id else None
            return VillagesData(nodes, figs)

        self.reader.start(work)

    def _load_figures(self) -> None:
        village_id, grid_id = self.place
        if village_id is None and grid_id is None:
            return
        period = villages.period_named(self.period_box.currentText())
        self.status.setText("正在统计…")
        self.reader.start(lambda s: VillagesData(None, villages.figures(s, village_id, grid_id, period)))

    def _show(self, data: VillagesData) -> None:
        if data.tree is not None:
            self._fill_tree(data.tree)
        if data.figures is not None:
            self._show_figures(data.figures)
        late = sum(1 for n in self.nodes if n.overdue)
        self.status.setText(f"共 {len(self.nodes)} 个村(社区)，其中 {late} 个有超期诉求（红点）" if self.nodes
                            else "尚未设置村(社区)：请在“设置 › 村(社区)与网格”中添加")
        self.loaded.emit()

    def _fill_tree(self, nodes: list[VillageNode]) -> None:
        self.nodes = nodes
        self.tree.blockSignals(True)
        self.tree.clear()
        bold = QFont(self.tree.font())
        bold.setBold(True)
        selected: QTreeWidgetItem | None = None
        for node in nodes:
            item = QTreeWidgetItem([node.name, str(node.open), str(node.overdue) if node.overdue else ""])
            item.setData(0, VILLAGE_ROLE, node.id)
            item.setIcon(0, self.late_icon if node.overdue else self.ok_icon)
            item.setToolTip(0, f"{node.name}：累计 {node.total} 件，在办 {node.open} 件，超期 {node.overdue} 件")
            if node.overdue:
                item.setForeground(2, QBrush(QColor(RED)))
                item.setFont(2, bold)
            for col in (1, 2):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for g in node.grids:
                child = QTreeWidgetItem([g.name, str(g.open), str(g.overdue) if g.overdue else ""])
                child.setData(0, VILLAGE_ROLE, node.id)
                child.setData(0, GRID_ROLE, g.id)
                if g.overdue:
                    child.setForeground(2, QBrush(QColor(RED)))
                for col in (1, 2):
                    child.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.addChild(child)
                if self.place == (node.id, g.id):
                    selected = child
            self.tree.addTopLevelItem(item)
            if self.place == (node.id, None):
                selected = item
        if selected is None and self.tree.topLevelItemCount():
            selected = self.tree.topLevelItem(0)
        if selected is not None:
            self.tree.setCurrentItem(selected)
            if selected.parent() is not None:
                selected.parent().setExpanded(True)
            vid, gid = selected.data(0, VILLAGE_ROLE), selected.data(0, GRID_ROLE)
            self._set_place(vid, gid)
        self.tree.blockSignals(False)

    def _item_chosen(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        self._set_place(item.data(0, VILLAGE_ROLE), item.data(0, GRID_ROLE))
        self._load_figures()

    def _set_place(self, village_id: int | None, grid_id: int | None) -> None:
        self.ledger.place_name = self.place_name(village_id, grid_id)
        if (village_id, grid_id) == self.place:
            return
        self.place = (village_id, grid_id)
        self.export_village_button.setEnabled(village_id is not None)
        self.ledger.base_filter = villages.scope_filter(village_id, grid_id)
        self.ledger.set_filter(None)  # one query: the new place, no narrowing

    def place_name(self, village_id: int | None, grid_id: int | None) -> str:
        """The village (and grid) as the tree names it; empty when unknown."""
        for node in self.nodes:
            if node.id != village_id:
                continue
            grid = next((g.name for g in node.grids if g.id == grid_id), None) if grid_id is not None else None
            return f"{node.name}{grid}" if grid else node.name
        return ""

    def select(self, village_id: int, grid_id: int | None = None) -> None:
        """Choose a village (or one of its grids) as if clicked in the tree."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, VILLAGE_ROLE) != village_id:
                continue
            if grid_id is None:
                self.tree.setCurrentItem(item)
                return
            for j in range(item.childCount()):
                if item.child(j).data(0, GRID_ROLE) == grid_id:
                    item.setExpanded(True)
                    self.tree.setCurrentItem(item.child(j))
                    return

    def _show_figures(self, figs: PlaceFigures) -> None:
        self.current = figs
        self.place_label.setText(figs.title)
        self.period_label.setText(f"统计期 {figs.period.label}（在办、超期、临期为当前数）；点击数字筛选下方台账")
        for key, tile in self.tiles.items():
            figure = figs.counts[key]
            tile.show_figure(figure)
            if figure.filter is None:
                tile.setToolTip(f"{figure.detail}（分子 / 分母）\n{figure.hint}")

    # -- narrowing the sub-ledger -------------------------------------------------------

    def narrow(self, key: str) -> None:
        """Show exactly the demands behind one count in the sub-ledger."""
        if self.current is None:
            return
        figure = self.current.counts[key]
        if figure.filter is not None:
            self.ledger.set_filter(figure.filter, figure.title)

    # -- exports ----------------------------------------------------------------------------

    def export_workbook(self, path: Path | None = None, period: Period | None = None) -> tasks.Task | None:
        """一村一档 for every village: asks for the period (a month or a range), then where to save."""
        from app.views import export_actions  # openpyxl is loaded when first needed

        task = export_actions.export_village_workbook(self, self.ctx, period, None, path=path)
        if task is not None:
            self.export_task = task
        return task

    def export_village(self, path: Path | None = None) -> tasks.Task | None:
        """The chosen village's ledger over the period chosen beside it, with its summary row."""
        from app.views import export_actions

        village_id = self.place[0]
        if village_id is None:
            return None
        period = villages.period_named(self.period_box.currentText())
        task = export_actions.export_village_workbook(self, self.ctx, period, [village_id], path=path)
        if task is not None:
            self.export_task = task
        return task

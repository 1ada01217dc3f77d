"""The 四方会签表: one page per demand, with a QR code carrying the case number.

Printing the sheet signs nothing. The four parties sign the paper in order; staff record
each signature (who, when, opinion) in the program, and the scanned sheet is attached back
to the demand by its QR code (``kuaichu attach-scan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepInFrame, Spacer, Table
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import DomainError
from app.models import Assignment, ProgressEntry, Unit
from app.personal import format_phone
from app.reports import layout
from app.reports.common import center_name, form
from app.reports.fonts import GRID_COLOR, LABEL_FILL, fonts, para, plain_style, rich, styles, text
from app.reports.qr import qr_flowable
from app.services import demands
from app.services.queries import category_paths
from app.vocab import PARTY_DUTY, PARTY_ORDER, Party, Satisfaction, Status

TITLE = "群众诉求办结四方会签表"
QR_SIZE = 27 * mm
INFO_MAX_HEIGHT = 62 * mm
TEXT_LIMIT = 260  # characters of content/result/process; the dossier has the full text
SIGN_ROW_HEIGHT = 32 * mm
BLANK_DATE = "＿＿＿＿年＿＿月＿＿日"
NOTE = ("说明：1. 按 诉求人 → 办理人 → 分管领导 → 主要领导 的顺序签字；拒绝签字的，请在意见栏写明理由。"
        "2. 打印本表不代表已签字，签字情况以工作人员录入系统的记录为准。"
        "3. 签字后请扫描本表（二维码须完整清晰），程序按二维码自动归档到本诉求。")


@dataclass
class SheetData:
    center: str
    code: str
    round: int
    status: str
    petitioner: str
    phone: str
    address: str
    type: str
    category: str
    channel: str
    received: date
    unit: str
    deadline: date | None
    content: str
    result: str
    process: list[str] = field(default_factory=list)
    generated: date = field(default_factory=date.today)


def sheet_data(session: Session, code: str, today: date | None = None) -> SheetData:
    d = demands.get(session, code)
    if d.status is Status.INVALID:
        raise DomainError(f"诉求 {d.code} 已甄别关闭（{d.screening_result.label if d.screening_result else '无效'}），"
                          "不需要四方会签")
    units: dict[int, str] = {i: n for i, n in session.execute(sa.select(Unit.id, Unit.name))}
    process: list[str] = []
    for a in session.scalars(sa.select(Assignment).where(Assignment.demand_id == d.id).order_by(Assignment.at)):
        process.append(f"{a.at:%m-%d} {a.kind.label}至{units.get(a.to_unit_id, '')}")
    for e in session.scalars(sa.select(ProgressEntry).where(ProgressEntry.demand_id == d.id)
                             .order_by(ProgressEntry.done_on, ProgressEntry.id)):
        process.append(f"{e.done_on:%m-%d} {e.text}")
    p = d.petitioner
    return SheetData(
        center=center_name(session), code=d.code, round=d.signoff_round, status=d.status.label,
        petitioner=p.name if p else "", phone=format_phone(p.phone) if p else "", address=p.address if p else "",
        type=d.type.label, category=category_paths(session).get(d.category_id, "") if d.category_id else "",
        channel=d.channel.name if d.channel else "", received=d.received_on,
        unit=units.get(d.unit_id, "") if d.unit_id else "", deadline=d.deadline, content=d.content,
        result=d.result_summary or d.answer, process=process, generated=today or date.today(),
    )


def _header(data: SheetData) -> Table:
    st = styles()
    middle = [para(TITLE, st.title), para(data.center, st.subtitle),
              rich(f"案件编号：{text(data.code, st.subtitle)}　　第 {data.round} 轮会签", st.subtitle)]
    qr_cell = [qr_flowable(data.code, QR_SIZE), para("扫码归档", st.small_center)]
    table = Table([[Spacer(QR_SIZE, QR_SIZE), middle, qr_cell]],
                  colWidths=[QR_SIZE + 2 * mm, layout.FRAME_WIDTH - 2 * (QR_SIZE + 2 * mm), QR_SIZE + 2 * mm])
    table.setStyle(plain_style([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (2, 0), (2, 0), "CENTER"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _clip(value: str) -> str:
    value = value.strip()
    return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "……（全文见案卷）"


def _info(data: SheetData) -> Flowable:
    w = layout.FRAME_WIDTH
    widths = [22 * mm, w / 2 - 22 * mm, 22 * mm, w / 2 - 22 * mm]
    process = _clip("；".join(data.process)) or "（无办理记录）"
    rows = [
        ["反映人", data.petitioner, "联系方式", data.phone],
        ["住址", data.address, "", ""],
        ["诉求类型", data.type, "诉求来源", data.channel],
        ["诉求类别", data.category, "", ""],
        ["受理日期", data.received.isoformat(), "责任单位", data.unit],
        ["诉求内容", _clip(data.content), "", ""],
        ["办理结果", _clip(data.result) or "（尚未填写办理结果）", "", ""],
        ["办理过程", process, "", ""],
    ]
    spans = [((1, r), (3, r)) for r in (1, 3, 5, 6, 7)]
    table = form(rows, widths, label_columns=(0, 2), spans=spans)
    return KeepInFrame(w, INFO_MAX_HEIGHT, [table], mode="shrink")


class TickBoxes(Flowable):
    """A caption and a row of empty square boxes to tick by hand, each with its label."""

    BOX = 3.6 * mm
    GAP = 6 * mm

    def __init__(self, caption: str, labels: list[str], style: ParagraphStyle) -> None:
        super().__init__()
        self.caption, self.labels, self.style = caption, labels, style

    def wrap(self, avail_width: float, _avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.height = max(self.BOX, self.style.fontSize) + 2
        return self.width, self.height

    def draw(self) -> None:
        fs = fonts()
        font, size = self.style.fontName, self.style.fontSize
        y = (self.height - size) / 2 + 1
        fs.draw(self.canv, 0, y, self.caption, font, size)
        x = fs.width(self.caption, font, size)
        self.canv.setLineWidth(0.8)
        for label in self.labels:
            self.canv.rect(x, y - 0.6 * mm, self.BOX, self.BOX, stroke=1, fill=0)
            x += self.BOX + 1.5 * mm
            fs.draw(self.canv, x, y, label, font, size)
            x += fs.width(label, font, size) + self.GAP


def _signature_cell(party: Party, width: float) -> Table:
    st = styles()
    rows: list[list[Flowable]] = [[para("意见：", st.table)]]
    heights: list[float | None] = [None]
    if party is Party.PETITIONER:
        rows.append([TickBoxes("满意度：", [s.label for s in Satisfaction], st.table)])
        heights = [14 * mm, 7 * mm]
    else:
        heights = [21 * mm]
    rows.append([para(f"签名：＿＿＿＿＿＿＿＿＿＿　　日期：{BLANK_DATE}", st.table)])
    heights.append(7 * mm)
    inner = Table(rows, colWidths=[width], rowHeights=heights)
    inner.setStyle(plain_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("VALIGN", (0, -1), (-1, -1), "BOTTOM"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return inner


def _signatures() -> Table:
    st = styles()
    label_w = 36 * mm
    body_w = layout.FRAME_WIDTH - label_w
    rows = []
    for n, party in enumerate(PARTY_ORDER, 1):
        label = [para(f"{n}. {party.label}", st.table_head), para(f"（{PARTY_DUTY[party]}）", st.table_center)]
        rows.append([label, _signature_cell(party, body_w - 8)])
    table = Table(rows, colWidths=[label_w, body_w], rowHeights=[SIGN_ROW_HEIGHT] * len(rows))
    table.setStyle(plain_style([
        ("GRID", (0, 0), (-1, -1), 0.8, GRID_COLOR), ("BACKGROUND", (0, 0), (0, -1), LABEL_FILL),
        ("VALIGN", (0, 0), (0, -1), "MIDDLE"), ("VALIGN", (1, 0), (1, -1), "TOP"),
        ("LEFTPADDING", (1, 0), (1, -1), 4), ("RIGHTPADDING", (1, 0), (1, -1), 4),
    ]))
    return table


def render_sheet(data: SheetData) -> layout.Built:
    setup = layout.PageSetup(title=TITLE, center=data.center, case_no=data.code, generated=data.generated)

    def story(_known: dict[str, int], _total: int, _marks: dict[str, int]) -> list[Flowable]:
        return [_header(data), Spacer(1, 3 * mm), _info(data), Spacer(1, 4 * mm), _signatures(),
                Spacer(1, 2 * mm), para(NOTE, styles().small)]

    built = layout.render(story, setup)
    if built.pages != 1:  # the info block shrinks to fit, so this means a layout bug
        raise RuntimeError(f"四方会签表应为 1 页，实际 {built.pages} 页")
    return built


def make_signoff_sheet(db: Database, code: str, out: Path) -> Path:
    with db.read() as s:
        data = sheet_data(s, code)
    return layout.write(render_sheet(data).data, out)

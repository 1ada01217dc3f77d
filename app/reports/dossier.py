"""一案一卷: the dossier of one demand, and a month's dossiers in a folder.

Cover, 卷内目录 with page numbers, the registration form, screening and 复核, assignment and
every transfer, the progress log, extensions, pauses and 督办, evidence (pictures scaled to
the page with captions; other files listed with their SHA-256), the four sign-offs as
recorded with the scanned sheets, the evaluation and revisits, and a 卷内备考表 carrying
the fingerprint of the demand's data. A demand that is not closed is marked 未办结（草稿）
on every page.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, Image, KeepTogether, PageBreak, Spacer
from sqlalchemy.orm import Session

from app import paths
from app.db import Database
from app.errors import DomainError
from app.models import (
    Assignment,
    Attachment,
    Demand,
    Evaluation,
    Extension,
    Pause,
    ProgressEntry,
    Revisit,
    Screening,
    SignOff,
    Supervision,
    Unit,
    User,
)
from app.personal import format_phone
from app.reports import fingerprint as fp
from app.reports import layout
from app.reports.common import (
    BatchResult,
    CancelFn,
    ProgressFn,
    center_name,
    cn_date,
    fmt_date,
    form,
    grid,
)
from app.reports.fonts import para, rich, styles, text
from app.reports.images import Picture, load_pages, load_picture
from app.reports.layout import FRAME_WIDTH, Mark
from app.services import settings
from app.services.demands import stored_path
from app.services.queries import category_paths
from app.services.rates import Period
from app.vocab import DONE_STATUSES, PARTY_DUTY, PARTY_ORDER, ScreeningStage, Status

log = logging.getLogger(__name__)
TITLE = "群众诉求办理案卷"
PICTURE_MAX_HEIGHT = 150 * mm
SCAN_MAX_HEIGHT = 205 * mm


@dataclass
class FileItem:
    name: str
    caption: str
    size: int
    sha256: str
    at: datetime
    who: str
    path: Path | None  # None when the stored file is missing


@dataclass
class Section:
    key: str
    title: str
    who: str
    on: date | None
    flowables: Callable[[], list[Flowable]]


@dataclass
class DossierData:
    center: str
    code: str
    status: Status
    retention: str
    title: str
    register: list[tuple[str, str]]
    content: str
    received: date
    last_day: date
    unit: str
    registrar: str
    screenings: list[list[str]]
    answer: str
    assignments: list[list[str]]
    progress: list[list[str]]
    extensions: list[list[str]]
    pauses: list[list[str]]
    supervisions: list[list[str]]
    evidence: list[FileItem]
    scans: list[FileItem]
    signoffs: list[list[str]]
    pending_parties: list[str]
    result: str
    evaluations: list[list[str]]
    revisits: list[list[str]]
    fingerprint: str
    first_dates: dict[str, date | None] = field(default_factory=dict)
    generated: date = field(default_factory=date.today)

    @property
    def draft(self) -> bool:
        return self.status not in DONE_STATUSES


def _d(value: datetime | date | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value


def dossier_data(session: Session, code: str, files_dir: Path, today: date | None = None) -> DossierData:
    """Everything the dossier prints, read in one session (plain values, no ORM objects)."""
    from app.services import demands

    d = demands.get(session, code)
    did = d.id
    users: dict[int, str] = {i: n for i, n in session.execute(sa.select(User.id, User.name))}
    units: dict[int, str] = {i: n for i, n in session.execute(sa.select(Unit.id, Unit.name))}

    def who(uid: int | None) -> str:
        return users.get(uid, "") if uid else ""

    def rows(model: Any) -> list[Any]:
        return list(session.scalars(sa.select(model).where(model.demand_id == did).order_by(model.at, model.id)))

    p = d.petitioner
    category = category_paths(session).get(d.category_id, "") if d.category_id else ""
    register = [
        ("案件编号", d.code), ("受理日期", d.received_on.isoformat()),
        ("反映人", p.name if p else ""), ("联系方式", format_phone(p.phone) if p else ""),
        ("住址", p.address if p else ""), ("所属村(社区)", d.village.name if d.village else ""),
        ("网格", d.grid.name if d.grid else ""), ("诉求来源", d.channel.name if d.channel else ""),
        ("诉求类型", d.type.label), ("诉求类别", category),
        ("时限规则", _rule_label(d.rule_set)),
        ("外部编号", d.external_ref or d.original_no),
        ("办理期限", (d.deadline.isoformat() if d.deadline else "") + ("（暂定）" if d.deadline_provisional else "")),
        ("责任单位", units.get(d.unit_id, "") if d.unit_id else ""),
        ("层级", d.level.label if d.level else ""), ("协办单位", "、".join(u.name for u in d.co_units)),
        ("登记人", who(d.registrar_id)), ("当前状态", d.status.label),
        ("重复诉求", ("是" + (f"（原诉求 {d.duplicate_of.code}）" if d.duplicate_of else "")) if d.is_repeat else "否"),
        ("备注", d.remarks),
    ]
    screenings = [[s.stage.label, s.result.label, s.explanation, fmt_date(s.at), who(s.actor_id)]
                  for s in sorted(rows(Screening), key=lambda s: (s.stage is ScreeningStage.REVIEW, s.at, s.id))]
    assignments = [[a.kind.label, units.get(a.from_unit_id, "") if a.from_unit_id else "",
                    units.get(a.to_unit_id, ""), a.level.label, a.reason, fmt_date(a.at), who(a.actor_id)]
                   for a in rows(Assignment)]
    progress = [[e.done_on.isoformat(), e.text, who(e.actor_id)]
                for e in sorted(rows(ProgressEntry), key=lambda e: (e.done_on, e.at, e.id))]
    extensions = [[fmt_date(e.at), f"{e.days}", e.reason, e.status.label, who(e.approver_id),
                   f"{e.old_deadline or ''} → {e.new_deadline or ''}" if e.new_deadline else ""]
                  for e in rows(Extension)]
    pauses = [[e.paused_on.isoformat(), e.resumed_on.isoformat() if e.resumed_on else "（未恢复）", e.reason,
               who(e.actor_id)] for e in rows(Pause)]
    supervisions = [[fmt_date(s.at), s.note, who(s.actor_id)] for s in rows(Supervision)]
    evidence: list[FileItem] = []
    scans: list[FileItem] = []
    for f in rows(Attachment):
        path = stored_path(files_dir, f.sha256)
        item = FileItem(f.original_name, f.caption, f.size, f.sha256, f.at, who(f.actor_id),
                        path if path.is_file() else None)
        (scans if f.kind == "scan" else evidence).append(item)
    order = {party: i for i, party in enumerate(PARTY_ORDER)}
    signs = sorted(rows(SignOff), key=lambda s: (s.round, order[s.party], s.at))
    signoffs = [[f"第 {s.round} 轮", s.party.label, s.signer_name, s.signed_on.isoformat(),
                 s.opinion, "拒绝签字" if s.refused else "已签字", who(s.recorded_by_id)] for s in signs]
    signed_now = {s.party for s in signs if s.round == d.signoff_round and not s.refused}
    pending = [] if d.status in DONE_STATUSES else [p.label for p in PARTY_ORDER if p not in signed_now]
    evaluations = [[e.evaluated_on.isoformat(), e.result.label, e.method, e.comment, who(e.actor_id)]
                   for e in rows(Evaluation)]
    revisits = [[r.visited_on.isoformat(), r.finding, "是" if r.problem_recurred else "否", who(r.actor_id)]
                for r in rows(Revisit)]
    days = [d.received_on, d.closed_on, *(_d(e.at) for e in signs),
            *(e.evaluated_on for e in rows(Evaluation)), *(r.visited_on for r in rows(Revisit)),
            *(e.done_on for e in rows(ProgressEntry))]
    last_day = max(x for x in days if x is not None)
    first = {
        "screening": _first(rows(Screening)), "assignment": _first(rows(Assignment)),
        "progress": min((e.done_on for e in rows(ProgressEntry)), default=None),
        "timing": min([x for x in (_first(rows(Extension)), _first(rows(Pause)), _first(rows(Supervision))) if x],
                      default=None),
        "evidence": _d(evidence[0].at) if evidence else None,
        "signoff": min((s.signed_on for s in signs), default=None),
        "evaluation": min([x for x in (_first(rows(Evaluation)), _first(rows(Revisit))) if x], default=None),
    }
    summary = d.content.strip().replace("\n", " ")
    if len(summary) > 36:
        summary = summary[:36] + "…"
    village = d.village.name if d.village else ""
    return DossierData(
        center=center_name(session), code=d.code, status=d.status,
        retention=str(settings.get(session, "retention_period") or "永久"),
        title=f"关于{village}群众反映“{summary}”的{d.type.label}类诉求办理案卷", register=register,
        content=d.content, received=d.received_on, last_day=last_day,
        unit=units.get(d.unit_id, "") if d.unit_id else "", registrar=who(d.registrar_id),
        screenings=screenings, answer=d.answer, assignments=assignments, progress=progress,
        extensions=extensions, pauses=pauses, supervisions=supervisions, evidence=evidence, scans=scans,
        signoffs=signoffs, pending_parties=pending, result=d.result_summary or d.answer,
        evaluations=evaluations, revisits=revisits, fingerprint=fp.fingerprint(session, d), first_dates=first,
        generated=today or date.today(),
    )


def _rule_label(code: str) -> str:
    from app.vocab import RuleSet

    try:
        return RuleSet(code).label  # type: ignore[call-arg]
    except ValueError:
        return code


def _first(events: list[Any]) -> date | None:
    return _d(events[0].at) if events else None


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} B"


@dataclass(frozen=True)
class _Stored:
    """A picture prepared for print, kept as a JPEG file for the build passes."""

    path: Path
    width: int
    height: int


class _Pictures:
    """Pictures prepared once per dossier, reused by every build pass, deleted after.

    They are handed to ReportLab as JPEG files: from a file it embeds the JPEG as it is,
    whereas from memory it would first decode every picture to raw pixels (~4 MB each).
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="kuaichu-dossier-", ignore_cleanup_errors=True)
        self._cache: dict[tuple[str, bool], list[_Stored]] = {}

    def get(self, item: FileItem, pages: bool) -> list[_Stored]:
        key = (item.sha256, pages)
        if key not in self._cache:
            pics: list[Picture] = []
            if item.path is not None:
                one = load_picture(item.path) if not pages else None
                pics = load_pages(item.path) if pages else ([one] if one else [])
            stored = []
            for i, pic in enumerate(pics):
                path = Path(self._dir.name) / f"{item.sha256[:16]}-{int(pages)}-{i}.jpg"
                path.write_bytes(pic.data)
                stored.append(_Stored(path, pic.width, pic.height))
            self._cache[key] = stored
        return self._cache[key]

    def close(self) -> None:
        self._dir.cleanup()


def _image(pic: _Stored, max_height: float) -> Image:
    scale = min(FRAME_WIDTH / pic.width, max_height / pic.height)
    img = Image(str(pic.path), width=pic.width * scale, height=pic.height * scale)
    img.hAlign = "CENTER"
    return img


def _none(text_: str = "（无）") -> list[Flowable]:
    return [para(text_, styles().body)]


def _sections(data: DossierData, pictures: _Pictures) -> list[Section]:
    st = styles()
    w = FRAME_WIDTH
    out: list[Section] = []

    def register() -> list[Flowable]:
        pairs = data.register
        rows = [[pairs[i][0], pairs[i][1], pairs[i + 1][0] if i + 1 < len(pairs) else "",
                 pairs[i + 1][1] if i + 1 < len(pairs) else ""] for i in range(0, len(pairs), 2)]
        rows.append(["诉求内容", data.content, "", ""])
        widths = [24 * mm, w / 2 - 24 * mm, 24 * mm, w / 2 - 24 * mm]
        return [form(rows, widths, label_columns=(0, 2), spans=[((1, len(rows) - 1), (3, len(rows) - 1))])]

    out.append(Section("register", "诉求登记表", data.registrar, data.received, register))

    if data.screenings or data.answer:
        def screening() -> list[Flowable]:
            items: list[Flowable] = []
            if data.screenings:
                items.append(grid(["环节", "结果", "解释说明", "时间", "经办人"], data.screenings,
                                  [16 * mm, 24 * mm, w - 98 * mm, 34 * mm, 24 * mm], centered=(0, 1)))
            if data.answer:
                items += [Spacer(1, 3 * mm), rich(f"<b>即时答复：</b>{text(data.answer, st.body)}", st.body)]
            return items

        out.append(Section("screening", "甄别与复核记录", data.center, data.first_dates.get("screening"), screening))
    if data.assignments:
        out.append(Section("assignment", "交办与移交记录", data.center, data.first_dates.get("assignment"),
                           lambda: [grid(["类型", "原承办单位", "承办单位", "层级", "理由", "时间", "经办人"],
                                         data.assignments,
                                         [12 * mm, 26 * mm, 26 * mm, 11 * mm, w - 124 * mm, 31 * mm, 18 * mm],
                                         centered=(0, 3))]))
    if data.progress:
        out.append(Section("progress", "办理进展记录", data.unit, data.first_dates.get("progress"),
                           lambda: [grid(["日期", "进展情况", "填报人"], data.progress,
                                         [24 * mm, w - 48 * mm, 24 * mm], centered=(0,))]))
    if data.extensions or data.pauses or data.supervisions:
        def timing() -> list[Flowable]:
            items: list[Flowable] = []
            if data.extensions:
                items += [para("延期", st.heading),
                          grid(["申请时间", "天数", "理由", "审批结果", "审批人", "期限变化"], data.extensions,
                               [30 * mm, 12 * mm, w - 138 * mm, 20 * mm, 20 * mm, 56 * mm], centered=(1, 3))]
            if data.pauses:
                items += [para("中止计时", st.heading),
                          grid(["中止日期", "恢复日期", "理由", "经办人"], data.pauses,
                               [26 * mm, 26 * mm, w - 76 * mm, 24 * mm], centered=(0, 1))]
            if data.supervisions:
                items += [para("督办", st.heading),
                          grid(["时间", "督办意见", "督办人"], data.supervisions,
                               [34 * mm, w - 58 * mm, 24 * mm])]
            return items

        out.append(Section("timing", "延期、中止与督办记录", data.center, data.first_dates.get("timing"), timing))
    if data.evidence:
        def evidence() -> list[Flowable]:
            items: list[Flowable] = []
            others: list[list[object]] = []
            n = 0
            for item in data.evidence:
                pics = pictures.get(item, pages=False)
                if pics:
                    n += 1
                    caption = f"图 {n}　{item.name}" + (f"　{item.caption}" if item.caption else "") + \
                        f"　（{fmt_date(item.at)}　{item.who}）"
                    items.append(KeepTogether([_image(pics[0], PICTURE_MAX_HEIGHT), Spacer(1, 1.5 * mm),
                                               para(caption, st.small_center), Spacer(1, 5 * mm)]))
                else:
                    note = "（文件缺失）" if item.path is None else ""
                    others.append([item.name + note, item.caption, _size(item.size),
                                   para(item.sha256, st.mono), f"{fmt_date(item.at)} {item.who}"])
            if others:
                items += [para("其他材料（以 SHA-256 校验值核对原件）", st.heading),
                          grid(["文件名", "说明", "大小", "SHA-256", "上传"], others,
                               [34 * mm, 28 * mm, 16 * mm, w - 118 * mm, 40 * mm])]
            return items

        uploaders = "、".join(dict.fromkeys(i.who for i in data.evidence if i.who))
        out.append(Section("evidence", f"佐证材料（{len(data.evidence)} 份）", uploaders,
                           data.first_dates.get("evidence"), evidence))

    def signoff() -> list[Flowable]:
        items: list[Flowable] = [rich(f"<b>办理结果：</b>{text(data.result or '（未填写）', st.body)}", st.body),
                                 Spacer(1, 3 * mm)]
        if data.signoffs:
            items.append(grid(["轮次", "签署方", "签字人", "日期", "意见", "结果", "录入人"], data.signoffs,
                              [16 * mm, 20 * mm, 22 * mm, 22 * mm, w - 140 * mm, 18 * mm, 20 * mm],
                              centered=(0, 1, 3, 5)))
        else:
            items += _none("（尚无签字记录）")
        duties = "；".join(f"{p.label}{PARTY_DUTY[p]}" for p in PARTY_ORDER)
        items += [Spacer(1, 2 * mm), para(f"会签顺序与职责：{duties}。", st.small)]
        if data.pending_parties:
            items.append(para(f"尚未签字：{'、'.join(data.pending_parties)}（四方未签齐，诉求未办结）", st.body))
        for item in data.scans:
            for i, pic in enumerate(pictures.get(item, pages=True), 1):
                items.append(KeepTogether([Spacer(1, 4 * mm), _image(pic, SCAN_MAX_HEIGHT), Spacer(1, 1.5 * mm),
                                           para(f"会签表扫描件：{item.name}　第 {i} 页　（{fmt_date(item.at)}　{item.who}）",
                                                st.small_center)]))
            if item.path is None:
                items.append(para(f"会签表扫描件 {item.name}：文件缺失（SHA-256 {item.sha256}）", st.small))
        return items

    parties = "、".join(p.label for p in PARTY_ORDER)
    out.append(Section("signoff", "四方会签记录" + ("及会签表扫描件" if data.scans else ""), parties,
                       data.first_dates.get("signoff"), signoff))
    if data.evaluations or data.revisits:
        def evaluation() -> list[Flowable]:
            items: list[Flowable] = []
            if data.evaluations:
                items += [para("评价", st.heading), grid(["评价日期", "结果", "方式", "意见", "录入人"], data.evaluations,
                                                       [24 * mm, 22 * mm, 22 * mm, w - 92 * mm, 24 * mm],
                                                       centered=(0, 1, 2))]
            if data.revisits:
                items += [para("回头看", st.heading), grid(["日期", "回访情况", "问题反弹", "人员"], data.revisits,
                                                        [24 * mm, w - 70 * mm, 22 * mm, 24 * mm], centered=(0, 2))]
            return items

        out.append(Section("evaluation", "评价与回访记录", data.center, data.first_dates.get("evaluation"), evaluation))
    return out


REMARKS_KEY = "remarks"


def _story(data: DossierData, sections: list[Section], known: dict[str, int], total: int,
           marks: dict[str, int]) -> list[Flowable]:
    st = styles()
    w = FRAME_WIDTH
    count = len(sections) + 1  # + 卷内备考表
    pages = str(total) if total else "　"
    story: list[Flowable] = [Mark("cover", marks), Spacer(1, 30 * mm), para("一案一卷", st.subtitle),
                             para(TITLE, st.cover_title), Spacer(1, 8 * mm)]
    if data.draft:
        story += [para(f"【{layout.DRAFT_TEXT}】当前状态：{data.status.label}", st.subtitle), Spacer(1, 4 * mm)]
    cover_rows = [
        ["案卷题名", data.title], ["案卷号", data.code], ["立卷单位", data.center],
        ["起止日期", f"{cn_date(data.received)} 至 {cn_date(data.last_day)}"], ["保管期限", data.retention],
        ["件数 / 页数", f"本卷共 {count} 件，{pages} 页"], ["立卷日期", cn_date(data.generated)],
    ]
    story.append(form([[para(a, st.cover_field), para(b, st.cover_field)] for a, b in cover_rows],
                      [34 * mm, w - 34 * mm]))
    story += [PageBreak(), Mark("toc", marks), para("卷内目录", st.title)]

    def page_range(key: str, next_key: str) -> str:
        start = known.get(key)
        if not start:
            return ""
        end = (known.get(next_key) or (total + 1)) - 1
        return str(start) if end <= start else f"{start}–{end}"

    keys = [s.key for s in sections] + [REMARKS_KEY]
    toc_rows = []
    for i, s in enumerate(sections):
        toc_rows.append([str(i + 1), s.title, s.who, fmt_date(s.on), page_range(s.key, keys[i + 1]), ""])
    toc_rows.append([str(count), "卷内备考表（含数据指纹）", data.center, fmt_date(data.generated),
                     page_range(REMARKS_KEY, "_end"), ""])
    story.append(grid(["序号", "文件题名", "责任者", "日期", "页号", "备注"], toc_rows,
                      [12 * mm, w - 116 * mm, 52 * mm, 22 * mm, 16 * mm, 14 * mm], centered=(0, 3, 4)))
    story.append(PageBreak())
    for i, s in enumerate(sections):
        if i > 0:
            story.append(CondPageBreak(70 * mm))
        story += [Mark(s.key, marks), para(f"{i + 1}. {s.title}", st.title if i == 0 else st.heading)]
        body = s.flowables()
        story += body or _none()
        story.append(Spacer(1, 6 * mm))
    story += [PageBreak(), Mark(REMARKS_KEY, marks), para("卷内备考表", st.title)]
    remarks = [
        ["本卷情况说明", f"本卷共 {count} 件，{pages} 页（含封面、卷内目录和本表）。"
                     + (f"诉求尚未办结（{data.status.label}），本卷为草稿。" if data.draft else "")],
        ["立卷单位", data.center], ["立卷人", ""], ["检查人", ""], ["立卷时间", cn_date(data.generated)],
        ["数据指纹（SHA-256）", para(fp.grouped(data.fingerprint), st.mono)],
    ]
    story.append(form(remarks, [40 * mm, w - 40 * mm]))
    story += [Spacer(1, 4 * mm), para(
        "数据指纹是本诉求全部登记与办理数据（按统一规范导出的 JSON）的 SHA-256 校验值。核对纸质案卷时，运行"
        f"“kuaichu dossier {data.code} --fingerprint”或在程序中重新生成本卷：指纹一致，说明打印后数据未被修改。",
        st.small)]
    return story


def render_dossier(data: DossierData) -> layout.Built:
    pictures = _Pictures()
    try:
        sections = _sections(data, pictures)
        setup = layout.PageSetup(title=TITLE, center=data.center, case_no=data.code, generated=data.generated,
                                 draft=data.draft)
        return layout.render(lambda known, total, marks: _story(data, sections, known, total, marks), setup,
                             repeat=True)
    finally:
        pictures.close()


def make_dossier(db: Database, code: str, out: Path, files_dir: Path | None = None) -> Path:
    files_dir = files_dir or paths.attachments_dir(db.url)
    with db.read() as s:
        data = dossier_data(s, code, files_dir)
    return layout.write(render_dossier(data).data, out)


def closed_codes(session: Session, period: Period) -> list[str]:
    """Case numbers of the demands closed (四方会签 complete) in the period, in order."""
    return list(session.scalars(
        sa.select(Demand.code).where(Demand.status.in_(DONE_STATUSES),
                                     Demand.closed_on.between(period.start, period.end)).order_by(Demand.code)))


def make_dossiers(db: Database, codes: list[str], out_dir: Path, *, files_dir: Path | None = None,
                  progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> BatchResult:
    """One dossier per case number into ``out_dir`` (``CODE.pdf``), for the background job.

    ``progress(done, total, case_no)`` is called before each; ``cancelled()`` is checked
    between dossiers, and files already written stay.
    """
    files_dir = files_dir or paths.attachments_dir(db.url)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BatchResult(written=[], failed=[], total=len(codes))
    for i, code in enumerate(codes):
        if cancelled is not None and cancelled():
            result.cancelled = True
            break
        if progress is not None:
            progress(i, len(codes), code)
        try:
            result.written.append(make_dossier(db, code, out_dir / f"{code}.pdf", files_dir))
        except DomainError as exc:
            result.failed.append((code, str(exc)))
        except Exception as exc:  # one broken record must not stop the month
            log.exception("dossier %s failed", code)
            result.failed.append((code, f"生成失败：{exc}"))
    if progress is not None and not result.cancelled:
        progress(len(codes), len(codes), "")
    return result


def month_dossiers(db: Database, month: str, out_dir: Path, *, files_dir: Path | None = None,
                   progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> BatchResult:
    """The dossiers of every demand closed in ``YYYY-MM``."""
    with db.read() as s:
        codes = closed_codes(s, Period.month(month))
    if not codes:
        raise DomainError(f"{month} 没有办结的诉求，无需生成案卷")
    return make_dossiers(db, codes, out_dir, files_dir=files_dir, progress=progress, cancelled=cancelled)

"""Operations on demands: registration and every step of the lifecycle.

Each function checks the actor's role (``access.require``) and the state machine
(``lifecycle``), changes the demand, writes its event row and an audit event. The
caller's ``Database.write()`` block commits all of it or none of it.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import access, deadlines, lifecycle
from app.errors import ConflictError, IllegalTransition, NotFound, ValidationError
from app.models import (
    Assignment,
    Attachment,
    CaseCounter,
    Channel,
    Demand,
    Evaluation,
    Extension,
    Grid,
    Pause,
    Petitioner,
    ProgressEntry,
    Revisit,
    Screening,
    SignOff,
    Supervision,
    Unit,
    User,
    Village,
)
from app.models.base import now
from app.personal import normalise_phone, phone_problem
from app.services import settings
from app.services.audit import record, snapshot
from app.services.calendar import load_calendar
from app.services.setup import township
from app.vocab import (
    INITIAL_RESULTS,
    LEVEL_ORDER,
    PARTY_ORDER,
    REVIEW_RESULTS,
    AssignmentKind,
    DemandType,
    ExtensionStatus,
    Level,
    Party,
    RuleSet,
    Satisfaction,
    ScreeningResult,
    ScreeningStage,
    Status,
)

TRACKED = ["status", "deadline", "deadline_provisional", "unit_id", "level", "paused_since",
           "closed_on", "satisfaction", "extension_days", "transfer_count", "rework_count"]
CHANNEL_RULE_SETS = {"12345热线": RuleSet.HOTLINE, "信访": RuleSet.PETITION}


# -- numbering -----------------------------------------------------------------


def next_case_number(session: Session, township_id: int, code: str, year: int) -> str:
    """Take the next number of the year; the write transaction holds the lock until commit."""
    updated = session.execute(
        sa.update(CaseCounter)
        .where(CaseCounter.township_id == township_id, CaseCounter.year == year)
        .values(last_seq=CaseCounter.last_seq + 1)
        .returning(CaseCounter.last_seq)
    ).scalar()
    if updated is None:
        session.add(CaseCounter(township_id=township_id, year=year, last_seq=1))
        session.flush()
        updated = 1
    return f"{code}-{year}-{updated:05d}"


# -- loading ---------------------------------------------------------------------


def get(session: Session, ref: int | str | Demand, expected_version: int | None = None) -> Demand:
    if isinstance(ref, Demand) and ref in session:
        demand = ref
    elif isinstance(ref, Demand):
        # A copy loaded by another (closed) session: changing it here would be silently
        # lost. Work on this session's row, expecting the version the copy was loaded at.
        state = sa.inspect(ref)
        if expected_version is None:
            expected_version = state.dict.get("version")
        demand = session.get(Demand, state.identity[0]) if state.identity else None
    elif isinstance(ref, int):
        demand = session.get(Demand, ref)
    else:
        demand = session.scalars(sa.select(Demand).where(Demand.code == ref.strip())).first()
    if demand is None:
        raise NotFound(f"找不到诉求“{ref}”")
    if expected_version is not None and demand.version != expected_version:
        raise ConflictError(
            f"诉求 {demand.code} 已被其他人修改（版本 {expected_version} → {demand.version}），"
            "请刷新后再操作；您的修改未保存"
        )
    return demand


def _rules(session: Session) -> dict[str, Any]:
    return settings.get(session, "deadline_rules")


def _today(on: date | None) -> date:
    return on or date.today()


def _step(session: Session, actor: User | None, demand: Demand, action: str, operation: str,
          summary: str, before: dict[str, Any] | None = None) -> None:
    """Audit one step with the tracked fields before and after."""
    record(session, actor, action, "demand", demand.id, demand_id=demand.id, summary=summary,
           before=before, after=snapshot(demand, TRACKED))


# -- registration ------------------------------------------------------------------


@dataclass
class DemandInput:
    type: DemandType | str
    content: str
    received_on: date | None = None
    category_id: int | None = None
    channel_id: int | None = None
    village_id: int | None = None
    grid_id: int | None = None
    petitioner_name: str = ""
    petitioner_phone: str = ""
    petitioner_address: str = ""
    remarks: str = ""
    rule_set: str | None = None
    external_ref: str = ""
    original_no: str = ""


def validate(session: Session, data: DemandInput, today: date) -> DemandType:
    """Check one demand's fields; raises ValidationError naming the field."""
    try:
        dtype = data.type if isinstance(data.type, DemandType) else DemandType.from_label(str(data.type))
    except ValueError:
        raise ValidationError("诉求类型", f"“{data.type}”应为 咨询/建议/求决/投诉 之一") from None
    if not (data.content or "").strip():
        raise ValidationError("诉求内容", "不能为空")
    if data.received_on is None:
        raise ValidationError("受理日期", "不能为空")
    if data.received_on > today:
        raise ValidationError("受理日期", f"{data.received_on} 晚于今天，不能是将来的日期")
    problem = phone_problem(data.petitioner_phone)
    if problem:
        raise ValidationError("联系方式", problem)
    if data.village_id is not None and session.get(Village, data.village_id) is None:
        raise ValidationError("村(社区)", "不存在")
    if data.grid_id is not None:
        grid = session.get(Grid, data.grid_id)
        if grid is None or (data.village_id is not None and grid.village_id != data.village_id):
            raise ValidationError("网格", "不属于所选村(社区)")
    if data.rule_set:
        try:
            RuleSet.from_label(data.rule_set)
        except ValueError:
            raise ValidationError("时限规则", f"“{data.rule_set}”不存在") from None
    return dtype


def find_petitioner(session: Session, phone: str, name: str, address: str) -> Petitioner | None:
    phone = normalise_phone(phone)
    if phone:
        return session.scalars(sa.select(Petitioner).where(Petitioner.phone == phone)).first()
    if name and address:
        return session.scalars(
            sa.select(Petitioner).where(Petitioner.name == name, Petitioner.address == address)
        ).first()
    return None


def earlier_demands(session: Session, petitioner_id: int, before: date, window_days: int | None = None,
                    exclude_id: int | None = None) -> list[Demand]:
    q = sa.select(Demand).where(Demand.petitioner_id == petitioner_id, Demand.received_on <= before)
    if window_days is not None:
        q = q.where(Demand.received_on >= before - timedelta(days=window_days))
    if exclude_id is not None:
        q = q.where(Demand.id != exclude_id)
    return list(session.scalars(q.order_by(Demand.received_on.desc(), Demand.id.desc())))


def register(session: Session, actor: User | None, data: DemandInput, *, today: date | None = None,
             check_role: bool = True) -> Demand:
    if check_role:
        access.require(actor, "register")
    today = _today(today)
    dtype = validate(session, data, today)
    town = township(session)

    petitioner = None
    phone = normalise_phone(data.petitioner_phone)
    name, address = data.petitioner_name.strip(), data.petitioner_address.strip()
    if phone or name:
        petitioner = find_petitioner(session, phone, name, address)
        if petitioner is None:
            petitioner = Petitioner(name=name, phone=phone, address=address, village_id=data.village_id)
            session.add(petitioner)
            session.flush()
        else:
            petitioner.name = name or petitioner.name
            petitioner.address = address or petitioner.address
            petitioner.village_id = data.village_id or petitioner.village_id

    rule_set = data.rule_set and RuleSet.from_label(data.rule_set).value
    if not rule_set:
        channel = session.get(Channel, data.channel_id) if data.channel_id else None
        rule_set = CHANNEL_RULE_SETS.get(channel.name if channel else "", RuleSet.TOWNSHIP).value
    cal = load_calendar(session)
    due = deadlines.due_date(cal, _rules(session), rule_set, dtype.value, data.received_on)

    repeat = False
    if petitioner is not None and petitioner.id is not None:
        window = int(settings.get(session, "repeat_window_days"))
        repeat = bool(earlier_demands(session, petitioner.id, data.received_on, window))

    demand = Demand(
        code=next_case_number(session, town.id, town.code, data.received_on.year),
        township_id=town.id,
        type=dtype,
        category_id=data.category_id,
        channel_id=data.channel_id,
        content=data.content.strip(),
        received_on=data.received_on,
        village_id=data.village_id,
        grid_id=data.grid_id,
        petitioner_id=petitioner.id if petitioner else None,
        registrar_id=actor.id if actor is not None else None,
        status=Status.REGISTERED,
        rule_set=rule_set,
        external_ref=data.external_ref.strip(),
        deadline=due.due,
        deadline_provisional=due.provisional,
        is_repeat=repeat,
        remarks=data.remarks.strip(),
        original_no=data.original_no.strip(),
    )
    session.add(demand)
    session.flush()
    _step(session, actor, demand, "register", "register", f"受理登记 {demand.code}")
    return demand


EDITABLE = ("content", "category_id", "channel_id", "village_id", "grid_id", "remarks", "external_ref", "type")


def edit(session: Session, actor: User | None, ref: Any, changes: dict[str, Any],
         expected_version: int | None = None) -> Demand:
    access.require(actor, "edit")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "edit")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError("字段", f"不可修改：{', '.join(sorted(unknown))}")
    if "content" in changes and not str(changes["content"]).strip():
        raise ValidationError("诉求内容", "不能为空")
    before = snapshot(demand, list(changes))
    for key, value in changes.items():
        if key == "type":
            value = DemandType.from_label(str(value))
        setattr(demand, key, value)
    if "type" in changes and demand.status in (Status.REGISTERED, Status.SCREENED, Status.PENDING_ASSIGNMENT):
        due = deadlines.due_date(load_calendar(session), _rules(session), demand.rule_set,
                                 demand.type.value, demand.received_on)
        demand.deadline, demand.deadline_provisional = due.due, due.provisional
    session.flush()
    record(session, actor, "edit", "demand", demand.id, demand_id=demand.id, summary="修改登记信息",
           before=before, after=snapshot(demand, list(changes)))
    return demand


# -- screening ---------------------------------------------------------------------


def screen(session: Session, actor: User | None, ref: Any, result: ScreeningResult | str,
           explanation: str = "", duplicate_of: str | int | None = None,
           expected_version: int | None = None) -> Demand:
    """初审: valid, or 重复 / 虚假 / 不属于受理范围 closed with the recorded explanation."""
    access.require(actor, "screen")
    demand = get(session, ref, expected_version)
    result = ScreeningResult.from_label(str(result)) if not isinstance(result, ScreeningResult) else result
    if result not in INITIAL_RESULTS:
        raise ValidationError("初审结果", f"应为 {'/'.join(r.label for r in INITIAL_RESULTS)}")
    before = snapshot(demand, TRACKED)
    original = None
    if result is not ScreeningResult.VALID:
        if not explanation.strip():
            raise ValidationError("解释说明", f"初审为“{result.label}”时必须记录解释疏导情况")
        if result is ScreeningResult.DUPLICATE:
            if duplicate_of is None:
                raise ValidationError("原诉求", "重复诉求须关联原诉求编码")
            original = get(session, duplicate_of)
            if original.id == demand.id:
                raise ValidationError("原诉求", "不能关联自身")
        lifecycle.apply(demand, "screen_invalid")
    else:
        lifecycle.apply(demand, "screen_valid")
    demand.screening_result = result
    if original is not None:
        demand.duplicate_of_id = original.id
        demand.is_repeat = True
    session.add(Screening(demand_id=demand.id, stage=ScreeningStage.INITIAL, result=result,
                          explanation=explanation.strip(), actor_id=actor.id if actor else None,
                          duplicate_of_id=original.id if original else None))
    session.flush()
    _step(session, actor, demand, "screen", "screen", f"初审：{result.label}", before)
    return demand


def review(session: Session, actor: User | None, ref: Any, result: ScreeningResult | str,
           explanation: str = "", expected_version: int | None = None) -> Demand:
    """复核: 合理 / 部分合理 go on to 交办; 不合理 is closed after 解释疏导."""
    access.require(actor, "review")
    demand = get(session, ref, expected_version)
    result = ScreeningResult.from_label(str(result)) if not isinstance(result, ScreeningResult) else result
    if result not in REVIEW_RESULTS:
        raise ValidationError("复核结果", f"应为 {'/'.join(r.label for r in REVIEW_RESULTS)}")
    before = snapshot(demand, TRACKED)
    if result is ScreeningResult.UNREASONABLE:
        if not explanation.strip():
            raise ValidationError("解释说明", "复核为“不合理”时必须记录解释疏导情况")
        lifecycle.apply(demand, "review_reject")
    else:
        lifecycle.apply(demand, "review_accept")
    demand.review_result = result
    session.add(Screening(demand_id=demand.id, stage=ScreeningStage.REVIEW, result=result,
                          explanation=explanation.strip(), actor_id=actor.id if actor else None))
    session.flush()
    _step(session, actor, demand, "review", "review", f"复核：{result.label}", before)
    return demand


def answer_on_spot(session: Session, actor: User | None, ref: Any, answer: str,
                   expected_version: int | None = None) -> Demand:
    """A 咨询 answered at once goes from registration straight to 待会签."""
    access.require(actor, "answer_on_spot")
    demand = get(session, ref, expected_version)
    if demand.type is not DemandType.CONSULT:
        raise IllegalTransition(f"只有咨询类诉求可即时答复，{demand.code} 是{demand.type.label}类")
    if not answer.strip():
        raise ValidationError("答复内容", "不能为空")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "answer_on_spot")
    demand.answer = demand.result_summary = answer.strip()
    demand.screening_result = ScreeningResult.VALID
    session.flush()
    _step(session, actor, demand, "answer", "answer_on_spot", "咨询即时答复", before)
    return demand


# -- assignment and transfers ----------------------------------------------------------


def _unit(session: Session, unit_id: int, field: str = "责任单位") -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise ValidationError(field, "不存在或已停用")
    return unit


def assign(session: Session, actor: User | None, ref: Any, unit_id: int, co_unit_ids: list[int] = (),
           level: Level | None = None, reason: str = "", expected_version: int | None = None) -> Demand:
    """交办: one responsible unit at a level, co-handling units allowed (1+N)."""
    access.require(actor, "assign")
    demand = get(session, ref, expected_version)
    unit = _unit(session, unit_id)
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "assign")
    level = level or unit.level
    demand.unit_id, demand.level, demand.first_level = unit.id, level, level
    demand.co_units = [_unit(session, u, "协办单位") for u in co_unit_ids if u != unit.id]
    session.add(Assignment(demand_id=demand.id, kind=AssignmentKind.ASSIGN, to_unit_id=unit.id,
                           level=level, reason=reason.strip(), actor_id=actor.id if actor else None))
    session.flush()
    co = "、".join(u.name for u in demand.co_units)
    _step(session, actor, demand, "assign", "assign",
          f"交办 {unit.name}（{level.label}级）" + (f"，协办：{co}" if co else ""), before)
    return demand


def transfer(session: Session, actor: User | None, ref: Any, to_unit_id: int, reason: str,
             level: Level | None = None, expected_version: int | None = None) -> Demand:
    """移交 up or down (or sideways); every transfer is recorded and counted."""
    access.require(actor, "transfer")
    demand = get(session, ref, expected_version)
    if not reason.strip():
        raise ValidationError("移交理由", "不能为空")
    unit = _unit(session, to_unit_id)
    if unit.id == demand.unit_id:
        raise ValidationError("责任单位", "与当前责任单位相同")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "transfer")
    level = level or unit.level
    old_level = demand.level
    diff = LEVEL_ORDER[level] - LEVEL_ORDER[old_level] if old_level else 0
    kind = (AssignmentKind.TRANSFER_UP if diff > 0 else
            AssignmentKind.TRANSFER_DOWN if diff < 0 else AssignmentKind.TRANSFER)
    session.add(Assignment(demand_id=demand.id, kind=kind, from_unit_id=demand.unit_id, to_unit_id=unit.id,
                           from_level=old_level, level=level, reason=reason.strip(),
                           actor_id=actor.id if actor else None))
    demand.unit_id, demand.level = unit.id, level
    demand.transfer_count += 1
    session.flush()
    _step(session, actor, demand, "transfer", "transfer", f"{kind.label}至 {unit.name}：{reason.strip()}", before)
    return demand


# -- handling ------------------------------------------------------------------------


def add_progress(session: Session, actor: User | None, ref: Any, text: str, done_on: date | None = None,
                 expected_version: int | None = None) -> ProgressEntry:
    access.require(actor, "progress")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "progress")
    if not text.strip():
        raise ValidationError("进展内容", "不能为空")
    done_on = _today(done_on)
    if done_on > date.today():
        raise ValidationError("进展日期", "不能是将来的日期")
    entry = ProgressEntry(demand_id=demand.id, text=text.strip(), done_on=done_on,
                          actor_id=actor.id if actor else None)
    session.add(entry)
    session.flush()
    record(session, actor, "progress", "progress_entry", entry.id, demand_id=demand.id,
           summary=f"办理进展：{text.strip()[:60]}")
    return entry


def store_file(src: Path, files_dir: Path) -> tuple[str, int]:
    """Copy a file into the store under its SHA-256 (once); returns (sha256, size)."""
    digest = hashlib.sha256()
    with src.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    target = stored_path(files_dir, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        shutil.copyfile(src, tmp)
        tmp.replace(target)
    return sha, src.stat().st_size


def stored_path(files_dir: Path, sha256: str) -> Path:
    return files_dir / sha256[:2] / sha256


def attach(session: Session, actor: User | None, ref: Any, src: Path, files_dir: Path, caption: str = "",
           kind: str = "evidence") -> Attachment:
    access.require(actor, "attach")
    demand = get(session, ref)
    lifecycle.apply(demand, "attach")
    src = Path(src)
    if not src.is_file():
        raise ValidationError("附件", f"找不到文件 {src}")
    sha, size = store_file(src, files_dir)
    att = Attachment(demand_id=demand.id, sha256=sha, original_name=src.name, size=size, kind=kind,
                     caption=caption.strip(), actor_id=actor.id if actor else None)
    session.add(att)
    session.flush()
    record(session, actor, "attach", "attachment", att.id, demand_id=demand.id,
           summary=f"上传{'会签扫描件' if kind == 'scan' else '佐证材料'}：{src.name}", after={"sha256": sha})
    return att


def request_extension(session: Session, actor: User | None, ref: Any, days: int, reason: str,
                      expected_version: int | None = None) -> Extension:
    access.require(actor, "request_extension")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "request_extension")
    if days <= 0:
        raise ValidationError("延期天数", "应为正整数")
    if not reason.strip():
        raise ValidationError("延期理由", "不能为空")
    limit = deadlines.rule_for(_rules(session), demand.rule_set, deadlines.EXTENSION_MAX)
    if demand.extension_days + days > limit.days:
        raise ValidationError("延期天数", f"累计延期不得超过 {limit.label}（已延期 {demand.extension_days} 天）")
    pending = session.scalars(sa.select(Extension).where(
        Extension.demand_id == demand.id, Extension.status == ExtensionStatus.PENDING)).first()
    if pending is not None:
        raise IllegalTransition("已有一项延期申请待审批")
    ext = Extension(demand_id=demand.id, days=days, reason=reason.strip(), status=ExtensionStatus.PENDING,
                    requested_by_id=actor.id if actor else None, old_deadline=demand.deadline)
    session.add(ext)
    session.flush()
    record(session, actor, "request_extension", "extension", ext.id, demand_id=demand.id,
           summary=f"申请延期 {days} 天：{reason.strip()}")
    return ext


def decide_extension(session: Session, actor: User | None, extension_id: int, approve: bool,
                     today: date | None = None) -> Extension:
    """A leader approves (the deadline moves) or rejects a pending extension."""
    access.require(actor, "decide_extension")
    ext = session.get(Extension, extension_id)
    if ext is None:
        raise NotFound(f"找不到延期申请 {extension_id}")
    if ext.status is not ExtensionStatus.PENDING:
        raise IllegalTransition(f"该延期申请已{ext.status.label}")
    demand = get(session, ext.demand_id)
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "decide_extension")
    ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    ext.approver_id = actor.id if actor else None
    ext.decided_at = now()
    if approve and demand.deadline is not None:
        cal = load_calendar(session)
        unit = deadlines.rule_for(_rules(session), demand.rule_set, demand.type.value).unit
        demand.deadline = deadlines.shift(cal, unit, demand.deadline, ext.days)
        demand.deadline_provisional = cal.provisional(demand.received_on, demand.deadline)
        demand.extension_days += ext.days
        ext.new_deadline = demand.deadline
    session.flush()
    _step(session, actor, demand, "decide_extension", "decide_extension",
          f"延期申请{ext.status.label}（{ext.days} 天）", before)
    return ext


def pause(session: Session, actor: User | None, ref: Any, reason: str, on: date | None = None,
          expected_version: int | None = None) -> Pause:
    """中止: the clock stops until ``resume``; the paused days are added to the deadline."""
    access.require(actor, "pause")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "pause")
    if demand.paused_since is not None:
        raise IllegalTransition(f"诉求 {demand.code} 已于 {demand.paused_since} 中止计时")
    if not reason.strip():
        raise ValidationError("中止理由", "不能为空")
    before = snapshot(demand, TRACKED)
    on = _today(on)
    demand.paused_since = on
    row = Pause(demand_id=demand.id, reason=reason.strip(), paused_on=on, actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    _step(session, actor, demand, "pause", "pause", f"中止计时：{reason.strip()}", before)
    return row


def resume(session: Session, actor: User | None, ref: Any, on: date | None = None,
           expected_version: int | None = None) -> Pause:
    access.require(actor, "pause")
    demand = get(session, ref, expected_version)
    lifecycle.apply(demand, "resume")
    if demand.paused_since is None:
        raise IllegalTransition(f"诉求 {demand.code} 没有中止计时")
    on = _today(on)
    if on < demand.paused_since:
        raise ValidationError("恢复日期", "早于中止日期")
    before = snapshot(demand, TRACKED)
    row = session.scalars(sa.select(Pause).where(Pause.demand_id == demand.id, Pause.resumed_on.is_(None))).one()
    row.resumed_on = on
    cal = load_calendar(session)
    unit = deadlines.rule_for(_rules(session), demand.rule_set, demand.type.value).unit
    lost = deadlines.paused_length(cal, unit, demand.paused_since, on)
    if demand.deadline is not None:
        demand.deadline = deadlines.shift(cal, unit, demand.deadline, lost)
        demand.deadline_provisional = cal.provisional(demand.received_on, demand.deadline)
    demand.paused_since = None
    session.flush()
    _step(session, actor, demand, "resume", "pause", f"恢复计时（中止 {lost} 天，期限顺延）", before)
    return row


# -- closing: 四方会签 ----------------------------------------------------------------


def submit_signoff(session: Session, actor: User | None, ref: Any, result_summary: str,
                   expected_version: int | None = None) -> Demand:
    access.require(actor, "submit_signoff")
    demand = get(session, ref, expected_version)
    if not result_summary.strip():
        raise ValidationError("办理结果", "提交会签前须填写办理结果")
    if demand.paused_since is not None:
        raise IllegalTransition("计时中止期间不能提交会签，请先恢复计时")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "submit_signoff")
    demand.result_summary = result_summary.strip()
    session.flush()
    _step(session, actor, demand, "submit_signoff", "submit_signoff", "办理完毕，提交四方会签", before)
    return demand


def signoffs_this_round(session: Session, demand: Demand) -> list[SignOff]:
    return list(session.scalars(
        sa.select(SignOff).where(SignOff.demand_id == demand.id, SignOff.round == demand.signoff_round)
        .order_by(SignOff.id)
    ))


def next_party(session: Session, demand: Demand) -> Party | None:
    signed = [s for s in signoffs_this_round(session, demand) if not s.refused]
    return PARTY_ORDER[len(signed)] if len(signed) < len(PARTY_ORDER) else None


def sign(session: Session, actor: User | None, ref: Any, party: Party | str, signer_name: str,
         signed_on: date | None = None, opinion: str = "", refused: bool = False,
         expected_version: int | None = None) -> SignOff:
    """Record one of the four signatures, in order; all four close the demand.

    A refusal is recorded with its reason and sends the demand back to handling; the
    next submission starts a new round of four signatures.
    """
    party = Party.from_label(str(party)) if not isinstance(party, Party) else party
    access.require(actor, access.SIGN_OPERATION[party])
    demand = get(session, ref, expected_version)
    lifecycle.check(demand, "sign")
    expected = next_party(session, demand)
    if party is not expected:
        order = " → ".join(p.label for p in PARTY_ORDER)
        raise IllegalTransition(f"四方会签须按 {order} 的顺序签字，下一位应为“{expected.label}”")
    if not signer_name.strip():
        raise ValidationError("签字人", "不能为空")
    if refused and not opinion.strip():
        raise ValidationError("意见", "拒绝签字须记录理由")
    signed_on = _today(signed_on)
    if signed_on > date.today():
        raise ValidationError("签字日期", "不能是将来的日期")
    before = snapshot(demand, TRACKED)
    row = SignOff(demand_id=demand.id, round=demand.signoff_round, party=party, signer_name=signer_name.strip(),
                  signed_on=signed_on, opinion=opinion.strip(), refused=refused,
                  recorded_by_id=actor.id if actor else None)
    session.add(row)
    if refused:
        lifecycle.apply(demand, "sign_refused")
        demand.signoff_round += 1
        summary = f"{party.label}拒绝签字：{opinion.strip()}，退回办理"
    elif party is PARTY_ORDER[-1]:
        lifecycle.apply(demand, "sign_complete")
        demand.closed_on = signed_on
        summary = "四方会签完成，办结"
    else:
        lifecycle.apply(demand, "sign")
        summary = f"{party.label}签字：{signer_name.strip()}"
    session.flush()
    _step(session, actor, demand, "sign", "sign", summary, before)
    return row


# -- after closing ----------------------------------------------------------------------


def evaluate(session: Session, actor: User | None, ref: Any, result: Satisfaction | str, method: str = "",
             comment: str = "", on: date | None = None, expected_version: int | None = None) -> Evaluation:
    """满意/基本满意 complete the demand; 不满意 reopens it as 二次整改 with a new deadline."""
    access.require(actor, "evaluate")
    demand = get(session, ref, expected_version)
    result = Satisfaction.from_label(str(result)) if not isinstance(result, Satisfaction) else result
    on = _today(on)
    before = snapshot(demand, TRACKED)
    if result is Satisfaction.UNSATISFIED:
        lifecycle.apply(demand, "evaluate_bad")
        demand.rework_count += 1
        demand.signoff_round += 1
        demand.closed_on = None
        rule = deadlines.rule_for(_rules(session), demand.rule_set, deadlines.REWORK)
        due = deadlines.add(load_calendar(session), rule, on)
        demand.deadline, demand.deadline_provisional = due.due, due.provisional
    else:
        lifecycle.apply(demand, "evaluate_ok")
    demand.satisfaction = result
    row = Evaluation(demand_id=demand.id, result=result, evaluated_on=on, method=method.strip(),
                     comment=comment.strip(), actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    text = f"评价：{result.label}" + ("，转二次整改" if result is Satisfaction.UNSATISFIED else "")
    _step(session, actor, demand, "evaluate", "evaluate", text, before)
    return row


def revisit(session: Session, actor: User | None, ref: Any, finding: str, on: date | None = None,
            problem_recurred: bool = False) -> Revisit:
    access.require(actor, "revisit")
    demand = get(session, ref)
    lifecycle.apply(demand, "revisit")
    if not finding.strip():
        raise ValidationError("回访情况", "不能为空")
    row = Revisit(demand_id=demand.id, visited_on=_today(on), finding=finding.strip(),
                  problem_recurred=problem_recurred, actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    record(session, actor, "revisit", "revisit", row.id, demand_id=demand.id, summary=f"回头看：{finding.strip()[:60]}")
    return row


def reopen(session: Session, actor: User | None, ref: Any, reason: str, on: date | None = None,
           expected_version: int | None = None) -> Demand:
    """The only way to change a closed demand: reopen it with a reason (audited)."""
    access.require(actor, "reopen")
    demand = get(session, ref, expected_version)
    if not reason.strip():
        raise ValidationError("重新打开理由", "不能为空")
    before = snapshot(demand, TRACKED)
    lifecycle.apply(demand, "reopen")
    demand.signoff_round += 1
    demand.closed_on = None
    rule = deadlines.rule_for(_rules(session), demand.rule_set, deadlines.REWORK)
    due = deadlines.add(load_calendar(session), rule, _today(on))
    demand.deadline, demand.deadline_provisional = due.due, due.provisional
    session.flush()
    _step(session, actor, demand, "reopen", "reopen", f"重新打开：{reason.strip()}", before)
    return demand


def supervise(session: Session, actor: User | None, ref: Any, note: str) -> Supervision:
    access.require(actor, "supervise")
    demand = get(session, ref)
    lifecycle.apply(demand, "supervise")
    if not note.strip():
        raise ValidationError("督办意见", "不能为空")
    before = snapshot(demand, TRACKED)
    demand.supervised = True
    row = Supervision(demand_id=demand.id, note=note.strip(), actor_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    _step(session, actor, demand, "supervise", "supervise", f"督办：{note.strip()}", before)
    return row



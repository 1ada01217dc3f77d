"""The domain vocabulary: stored codes and the Chinese labels users see.

Codes are stored in the database; labels are what every screen, report and command
prints. ``from_label`` accepts either the code or the Chinese label (and a few synonyms)
so the command line and importers can take what users type.
"""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A StrEnum whose members carry a Chinese label."""

    label: str

    def __new__(cls, code: str, label: str, *aliases: str) -> Labelled:
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.label = label
        obj.aliases = (label, *aliases)
        return obj

    @classmethod
    def from_label(cls, text: str) -> Labelled:
        text = text.strip()
        for member in cls:
            if text == member.value or text in member.aliases:
                return member
        raise ValueError(text)

    @classmethod
    def labels(cls) -> list[str]:
        return [m.label for m in cls]


class DemandType(Labelled):
    CONSULT = "consult", "咨询", "咨询类", "政策咨询"
    SUGGEST = "suggest", "建议", "建议类", "意见建议", "意见建议类", "意见"
    SOLVE = "solve", "求决", "求决类", "求助", "求助类"
    COMPLAIN = "complain", "投诉", "投诉类", "投诉举报"


class Status(Labelled):
    REGISTERED = "registered", "待甄别"
    SCREENED = "screened", "待复核"
    PENDING_ASSIGNMENT = "pending_assignment", "待交办"
    HANDLING = "handling", "办理中"
    REWORK = "rework", "二次整改"
    AWAITING_SIGNOFF = "awaiting_signoff", "待会签"
    CLOSED = "closed", "已办结"
    EVALUATED = "evaluated", "已评价"
    INVALID = "invalid", "甄别关闭"


OPEN_STATUSES = (
    Status.REGISTERED,
    Status.SCREENED,
    Status.PENDING_ASSIGNMENT,
    Status.HANDLING,
    Status.REWORK,
    Status.AWAITING_SIGNOFF,
)
DONE_STATUSES = (Status.CLOSED, Status.EVALUATED)
WORKING_STATUSES = (Status.HANDLING, Status.REWORK)


class Level(Labelled):
    VILLAGE = "village", "村", "村级", "社区", "村(社区)"
    TOWNSHIP = "township", "乡镇", "乡镇级", "街道", "乡镇(街道)"
    DISTRICT = "district", "区", "区级", "县", "县级"
    CITY = "city", "市", "市级"


LEVEL_ORDER = {Level.VILLAGE: 0, Level.TOWNSHIP: 1, Level.DISTRICT: 2, Level.CITY: 3}


class Role(Labelled):
    REGISTRAR = "registrar", "登记员"
    HANDLER = "handler", "办理人"
    DEPUTY_LEADER = "deputy_leader", "分管领导"
    CHIEF_LEADER = "chief_leader", "主要领导"
    SUPERVISOR = "supervisor", "督办"
    ADMIN = "admin", "管理员"


class ScreeningStage(Labelled):
    INITIAL = "initial", "初审"
    REVIEW = "review", "复核"


class ScreeningResult(Labelled):
    VALID = "valid", "有效"
    DUPLICATE = "duplicate", "重复"
    FALSE = "false", "虚假"
    OUT_OF_SCOPE = "out_of_scope", "不属于受理范围"
    REASONABLE = "reasonable", "合理"
    PARTLY_REASONABLE = "partly_reasonable", "部分合理"
    UNREASONABLE = "unreasonable", "不合理"


INITIAL_RESULTS = (
    ScreeningResult.VALID,
    ScreeningResult.DUPLICATE,
    ScreeningResult.FALSE,
    ScreeningResult.OUT_OF_SCOPE,
)
REVIEW_RESULTS = (
    ScreeningResult.REASONABLE,
    ScreeningResult.PARTLY_REASONABLE,
    ScreeningResult.UNREASONABLE,
)


class AssignmentKind(Labelled):
    ASSIGN = "assign", "交办"
    TRANSFER_UP = "transfer_up", "上移"
    TRANSFER_DOWN = "transfer_down", "下移"
    TRANSFER = "transfer", "平级移交"


class Party(Labelled):
    PETITIONER = "petitioner", "诉求人"
    HANDLER = "handler", "办理人"
    DEPUTY_LEADER = "deputy_leader", "分管领导"
    CHIEF_LEADER = "chief_leader", "主要领导"


PARTY_ORDER = (Party.PETITIONER, Party.HANDLER, Party.DEPUTY_LEADER, Party.CHIEF_LEADER)
PARTY_DUTY = {
    Party.PETITIONER: "确认办理结果",
    Party.HANDLER: "说明处置过程",
    Party.DEPUTY_LEADER: "审核程序合规",
    Party.CHIEF_LEADER: "签字背书",
}


class Satisfaction(Labelled):
    SATISFIED = "satisfied", "满意"
    BASICALLY = "basically", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class ExtensionStatus(Labelled):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "未批准"


class RuleSet(Labelled):
    TOWNSHIP = "township", "本乡镇规则", "乡镇"
    HOTLINE = "hotline", "12345热线", "12345"
    PETITION = "petition", "信访", "信访条例"


class ClockState(Labelled):
    NORMAL = "normal", "正常"
    DUE_SOON = "due_soon", "即将到期"
    OVERDUE = "overdue", "已超期"
    PAUSED = "paused", "已中止"
    DONE = "done", "已结束"


def role_labels(codes: str) -> str:
    return "、".join(Role(c).label for c in codes.split(",") if c)

"""Importing an existing ledger: read, map, validate, match, find duplicates, write all or nothing.

The steps, each usable on its own (the wizard shows what each one found):

1. ``analyse(path, options)`` reads the sheets and finds each one's header and columns.
2. ``check(session, analysis, options)`` parses and validates every row, matches villages,
   grids, units, categories and channels against the database's lists, and finds rows that
   repeat an earlier row of the file or a demand already in the database (same petitioner,
   same content, same date). Nothing is written.
3. ``write(session, actor, checked, options)`` creates the entries the user chose to create
   and registers every demand with ``demands.register_many`` (so each gets its own case
   number, deadline and repeat flag, exactly as a registration at the desk would) and
   starts its history with an "imported from" event.

``run(db, path, options)`` does all three: a dry run reads only; a real run does steps 2
and 3 in one ``Database.write()`` transaction, so any error leaves the database untouched.
Unless ``skip_invalid`` is set, one row with an error means nothing is written.

The old ledger's history: a row whose 状态 says 办结 (办结, 已办结, 已完成...) or that has a
办结日期 is imported as closed on that date (the deadline, or the receipt day, stands in
when only the status says so), with the 办理结果 as its result and the 责任单位 as its
unit; its 满意度 (满意/基本满意/不满意), when there is one, becomes an evaluation by the
old ledger. The import event says the closure comes from the old ledger and that the
four-party sign-off is on paper. History is not reopened: a 不满意 stays evaluated.
Every other row starts as 待甄别 like any new registration; the old ledger's status,
dates and satisfaction are kept in its import event.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import access
from app.db import Database
from app.errors import DomainError
from app.excel import reader
from app.excel.cells import CancelFlag, Progress, Ticker, set_text
from app.excel.mapping import (
    FIELD_BY_KEY,
    REQUIRED,
    VALUE_KINDS,
    Header,
    ImportMapping,
    ValueChoice,
    column_letter,
    detect_header,
    is_level_normalised,
    normalise_label,
    propose,
)
from app.models import Category, Channel, Demand, Grid, Petitioner, Unit, User, Village
from app.personal import normalise_phone, phone_problem
from app.services import demands, setup
from app.services.audit import record
from app.vocab import DemandType, Level, Satisfaction

ERROR, DUPLICATE, WARNING = "error", "duplicate", "warning"
LEVEL_TITLES = {ERROR: "错误", DUPLICATE: "重复", WARNING: "提示"}
EXCEL_EPOCH = date(1899, 12, 30)
EARLIEST = date(1990, 1, 1)

_TOTAL_RE = re.compile(r"^(合计|总计|小计|共计|累计|总数)")
_FOOTER_RE = re.compile(r"^(填表|制表|审核|审批|负责人|填报|注[:：]|说明[:：]?|单位负责人|统计人|报送|分管领导|主要领导"
                        r"|经办人|备注[:：])")
_DATE_RE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*[日号]?(?!\d)")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{5}(\.\d+)?$")
_PHONE_SPLIT = re.compile(r"[/、，,;；|]|\s{2,}")
_CATEGORY_SPLIT = re.compile(r"\s*(?:›|>|＞|/|／|\\|-{1,2}|—|\||、|·)\s*")
_BRACKETS = re.compile(r"[(（].*?[)）]")

# The old ledger's 状态 of a finished demand (办结 and its usual spellings), and of an open one.
CLOSED_STATUSES = frozenset({
    "办结", "已办结", "已完成", "完成", "已完结", "完结", "已解决", "已销号", "销号", "办结销号", "已办结销号",
    "已办理完毕", "办理完毕", "已处理完毕", "处理完毕", "已评价", "已回访", "已答复", "是",
})
_OPEN_STATUS_RE = re.compile(r"^(未|待|否|正在|暂未|尚未|退回)|(办理中|处理中|进行中|推进中|协调中)$")
SATISFACTION_WORDS = {
    "满意": Satisfaction.SATISFIED, "非常满意": Satisfaction.SATISFIED, "很满意": Satisfaction.SATISFIED,
    "十分满意": Satisfaction.SATISFIED,
    "基本满意": Satisfaction.BASICALLY, "比较满意": Satisfaction.BASICALLY, "较满意": Satisfaction.BASICALLY,
    "不满意": Satisfaction.UNSATISFIED, "不太满意": Satisfaction.UNSATISFIED, "很不满意": Satisfaction.UNSATISFIED,
    "非常不满意": Satisfaction.UNSATISFIED,
}


class ImportProblem(DomainError):
    """The file as a whole cannot be imported (no header found, no sheet left...)."""


# -- options and results ----------------------------------------------------------------------


@dataclass
class ImportOptions:
    sheets: list[str] | None = None  # None: every visible sheet with a header
    mapping: ImportMapping = field(default_factory=ImportMapping)
    skip_invalid: bool = False  # import the valid rows, report the rest
    strict: bool = False  # unknown units, categories, channels are errors instead of being created
    auto_create: bool = True  # unknown units, categories, channels without a choice are created
    today: date | None = None

    @property
    def as_of(self) -> date:
        return self.today or date.today()


@dataclass
class Issue:
    level: str  # ERROR, DUPLICATE or WARNING
    sheet: str
    row: int  # the row number as Excel shows it (0: the whole file)
    column: str
    value: str
    reason: str

    @property
    def level_title(self) -> str:
        return LEVEL_TITLES[self.level]


@dataclass
class Unknown:
    """A value the database's lists do not have, and what will be done with it."""

    kind: str  # village / unit / category / channel / grid
    value: str
    rows: int
    action: str  # map / create / empty / error
    to: str = ""
    level: str = ""
    suggestion: str = ""  # the closest existing name, when there is one

    @property
    def kind_title(self) -> str:
        return VALUE_KINDS[self.kind]

    @property
    def action_title(self) -> str:
        if self.action == "map":
            return f"对应到“{self.to}”"
        return {"create": "新建", "empty": "留空", "error": "作为错误"}[self.action]


@dataclass
class SheetPlan:
    sheet: reader.RawSheet
    header: Header
    columns: dict[int, str]  # column index -> field key

    @property
    def name(self) -> str:
        return self.sheet.name

    def column_of(self, key: str) -> int | None:
        for c, k in self.columns.items():
            if k == key:
                return c
        return None

    def column_title(self, key: str) -> str:
        c = self.column_of(key)
        if c is None:
            return FIELD_BY_KEY[key].title
        label = self.header.labels[c] if c < len(self.header.labels) else ""
        return f"{label or FIELD_BY_KEY[key].title}（{column_letter(c)}列）"

    def missing(self, mapping: ImportMapping) -> list[str]:
        have = set(self.columns.values())
        out = [k for k in REQUIRED if k not in have and not (k == "type" and mapping.defaults.get("type"))]
        return out

    def samples(self, column: int, n: int = 3) -> list[str]:
        out: list[str] = []
        for r in range(self.header.first_data_row, len(self.sheet.rows)):
            text = cell_text(self.sheet.cell(r, column))
            if text:
                out.append(text)
                if len(out) >= n:
                    break
        return out

    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        """(Excel row number, {field: raw value}) for each data row; blank, 合计 and footer rows skipped."""
        out: list[tuple[int, dict[str, Any]]] = []
        header_norm = [normalise_label(x) for x in self.header.labels]
        seen: dict[str, str] = {}  # normalised text of each distinct cell (types, units... repeat a lot)
        for r in range(self.header.first_data_row, len(self.sheet.rows)):
            cells = self.sheet.rows[r]
            filled = [(c, v) for c, v in enumerate(cells) if cell_text(v)]
            if not filled:
                continue
            first = cell_text(filled[0][1])
            if _TOTAL_RE.match(re.sub(r"\s+", "", first)):
                continue
            if len(filled) <= 2 and _FOOTER_RE.match(first):
                continue
            same = 0
            for c, v in filled:
                if c < len(header_norm):
                    n = seen.get(v) if isinstance(v, str) else None
                    if n is None:
                        n = normalise_label(v)
                        if isinstance(v, str):
                            seen[v] = n
                    same += n == header_norm[c] or is_level_normalised(n)
            if same >= 3:
                continue  # the header repeated (a ledger printed page by page, then pasted)
            out.append((r + 1, {key: cells[c] if c < len(cells) else "" for c, key in self.columns.items()}))
        return out


@dataclass
class Analysis:
    path: Path
    plans: list[SheetPlan]
    skipped: list[tuple[str, str]]  # (sheet, why it is not imported)
    sheet_names: list[str]


@dataclass(frozen=True)
class Target:
    """Where a value goes: an existing entry's id, or an entry to create."""

    kind: str
    id: int | None = None
    create: tuple[str, ...] = ()  # (name,) or a category path
    level: str = ""  # a new unit's level


@dataclass
class Candidate:
    """One valid row, ready to be registered."""

    sheet: str
    row: int
    order: int
    type: DemandType
    content: str
    received: date
    name: str
    phone: str
    address: str
    remarks: str
    original_no: str
    village: Target | None
    grid_id: int | None
    unit: Target | None
    category: Target | None
    channel: Target | None
    original: dict[str, str]
    closed: bool = False  # the old ledger records it as 办结
    closed_on: date | None = None
    result: str = ""
    satisfaction: Satisfaction | None = None
    satisfaction_text: str = ""


@dataclass
class Checked:
    analysis: Analysis
    candidates: list[Candidate]
    issues: list[Issue]
    unknowns: list[Unknown]
    read: int
    error_rows: int
    duplicates: int
    sheet_rows: dict[str, int] = field(default_factory=dict)


@dataclass
class SheetSummary:
    name: str
    header_row: int
    columns: dict[str, str]  # header label -> field title
    rows: int


@dataclass
class ImportResult:
    file: str
    sheets: list[SheetSummary]
    skipped_sheets: list[tuple[str, str]]
    read: int
    to_import: int
    imported: int
    duplicates: int
    errors: int
    issues: list[Issue]
    unknowns: list[Unknown]
    created: dict[str, list[str]]
    dry_run: bool
    written: bool
    demand_ids: list[int] = field(default_factory=list)
    report: Path | None = None

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.level == WARNING)

    @property
    def refused(self) -> bool:
        """True when a row the user asked to import was not imported (errors)."""
        return self.errors > 0

    @property
    def exit_code(self) -> int:
        return 1 if self.refused else 0

    def summary_line(self) -> str:
        return f"read={self.read} imported={self.imported} duplicates={self.duplicates} errors={self.errors}"

    def describe(self) -> str:
        """One sentence in Chinese for dialogs and the command line."""
        if self.dry_run:
            head = f"预检：读取 {self.read} 行，可导入 {self.to_import} 条"
        elif self.written:
            head = f"已导入 {self.imported} 条（读取 {self.read} 行）"
        else:
            head = f"未导入任何数据：{self.errors} 行有错误（读取 {self.read} 行）"
        return f"{head}，重复 {self.duplicates} 条，错误 {self.errors} 行，提示 {self.warnings} 条"


# -- reading values ------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: integral floats without ``.0``, dates as ISO, blanks trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_date(value: Any) -> date:
    """A 受理日期 from a date cell, an Excel serial number, or text in the usual forms.

    Raises ValueError with the reason in Chinese.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if 19000101 <= number <= 21001231 and number.is_integer():
            return parse_date(str(int(number)))
        if 1 <= number < 2958466:
            return EXCEL_EPOCH + timedelta(days=int(number))
        raise ValueError(f"“{cell_text(value)}”不是日期")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        raise ValueError("不能为空")
    m = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise ValueError(f"“{text}”不是有效日期") from None
    if _SERIAL_RE.match(text):
        return EXCEL_EPOCH + timedelta(days=int(float(text)))
    raise ValueError(f"无法识别的日期“{text}”：应为 2022-05-03、2022.5.3、2022年5月3日 或 2022/5/3 等格式")


def parse_type(text: str) -> DemandType:
    """诉求类型 with or without 类 (意见建议类, 建议类, 求决, 求助...)."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    candidates = [t, t.removesuffix("类"), t + "类", re.sub(r"(问题|事项|诉求)$", "", t),
                  _BRACKETS.sub("", t), _BRACKETS.sub("", t).removesuffix("类")]
    for c in candidates:
        if not c:
            continue
        try:
            return DemandType.from_label(c)
        except ValueError:
            continue
    raise ValueError(text)


def status_closed(text: str) -> bool | None:
    """What an old ledger's 状态 says: True 办结, False still open, None nothing (empty or unknown)."""
    t = _BRACKETS.sub("", _norm(text))
    if not t:
        return None
    if t in CLOSED_STATUSES:
        return True
    if _OPEN_STATUS_RE.search(t):
        return False
    return None


def parse_satisfaction(text: str) -> Satisfaction | None:
    """满意 / 基本满意 / 不满意 and their usual variants; None for anything else."""
    t = _BRACKETS.sub("", _norm(text)).removesuffix("。")
    return SATISFACTION_WORDS.get(t)


def split_phones(raw: Any) -> list[str]:
    text = cell_text(raw)
    if not text:
        return []
    parts = [p.strip() for p in _PHONE_SPLIT.split(text) if p.strip()]
    return parts or [text]


def content_key(content: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", content))


def person_key(phone: str, name: str, address: str) -> tuple[str, ...]:
    """The same petitioner as ``demands.find_petitioner`` sees it: by phone, else by name and address."""
    phone = normalise_phone(phone)
    if phone:
        return ("phone", phone)
    return ("name", name.strip(), address.strip())


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# -- the database's lists -------------------------------------------------------------------------


class Lookups:
    """The township's villages, grids, units, categories and channels, for matching by name."""

    def __init__(self, session: Session) -> None:
        town = setup.township(session)
        self.township_name = town.name
        self.villages: dict[str, int] = {}
        self.village_names: dict[int, str] = {}
        for vid, name in session.execute(sa.select(Village.id, Village.name).order_by(Village.sort, Village.id)):
            self.villages[_norm(name)] = vid
            self.village_names[vid] = name
        self.grids = {(vid, _norm(name)): gid for gid, vid, name in
                      session.execute(sa.select(Grid.id, Grid.village_id, Grid.name))}
        self.units: dict[str, tuple[int, Level]] = {}
        self.village_units: dict[int, int] = {}
        for uid, name, level, vid in session.execute(sa.select(Unit.id, Unit.name, Unit.level, Unit.village_id)):
            self.units[_norm(name)] = (uid, level)
            if vid is not None:
                self.village_units.setdefault(vid, uid)
        self.categories: dict[tuple[int | None, str], int] = {}
        self.category_depth: dict[int, int] = {}
        self.category_by_name: dict[str, list[int]] = defaultdict(list)
        for cid, parent, name, depth in session.execute(
                sa.select(Category.id, Category.parent_id, Category.name, Category.depth)):
            self.categories[(parent, _norm(name))] = cid
            self.category_depth[cid] = depth
            self.category_by_name[_norm(name)].append(cid)
        self.channels: dict[str, int] = {_norm(n): i for i, n in session.execute(sa.select(Channel.id, Channel.name))}
        # Villages by length, longest first, so 柳树新村 is found before 柳树村 at the start of an address.
        self._by_length = sorted(self.villages.items(), key=lambda kv: -len(kv[0]))

    # villages

    def village(self, raw: str) -> int | None:
        n = _norm(raw)
        if not n:
            return None
        if n in self.villages:
            return self.villages[n]
        for suffix in ("村民委员会", "居民委员会", "村委会", "居委会", "委会", "村委", "居委"):
            if n.endswith(suffix):
                base = n[: -len(suffix)]
                for cand in (base, base + "村", base + "社区"):
                    if cand in self.villages:
                        return self.villages[cand]
        for cand in (n + "村", n + "社区"):
            if cand in self.villages:
                return self.villages[cand]
        return None

    def village_in_address(self, address: str) -> int | None:
        """The village named at the start of an address (after the township's name, if any)."""
        a = _norm(address)
        if not a:
            return None
        town = _norm(self.township_name)
        starts = [a]
        if town and town in a:
            starts.append(a[a.index(town) + len(town):])
        for text in starts:
            for name, vid in self._by_length:
                if text.startswith(name):
                    return vid
        return None

    def suggest_village(self, raw: str) -> str:
        n = _norm(raw)
        for name, vid in self._by_length:
            if n and (n in name or name in n):
                return self.village_names[vid]
        return ""

    # units

    def unit(self, raw: str) -> tuple[int, Level] | None:
        n = _norm(raw)
        if n in self.units:
            return self.units[n]
        vid = self.village(raw)
        if vid is not None and vid in self.village_units:
            uid = self.village_units[vid]
            return uid, Level.VILLAGE
        return None

    # categories

    def category(self, parts: tuple[str, ...]) -> tuple[int | None, int]:
        """(deepest matched id, how many parts matched) walking the tree from the top."""
        node: int | None = None
        matched = 0
        for i, part in enumerate(parts):
            n = _norm(part)
            child = self.categories.get((node, n))
            if child is None and i == 0:
                found = self.category_by_name.get(n, [])
                child = found[0] if len(found) == 1 else None
            if child is None:
                break
            node, matched = child, i + 1
        return node, matched

    # channels

    CHANNEL_WORDS = (
        ("12345", "12345热线"), ("热线", "12345热线"), ("信访", "信访"), ("来信", "信访"), ("上访", "信访"),
        ("扫码", "扫码线上采"), ("线上", "扫码线上采"), ("信箱", "信箱收"), ("问卷", "问卷征"),
        ("坝坝会", "群众提(坝坝会/座谈)"), ("院坝", "群众提(坝坝会/座谈)"), ("座谈", "群众提(坝坝会/座谈)"), ("群众提", "群众提(坝坝会/座谈)"),
        ("入户", "入户走访问"), ("走访", "入户走访问"), ("蹲点", "蹲点调研挖"), ("调研", "蹲点调研挖"),
        ("网格", "网格员上报"), ("交办", "上级交办"), ("来电", "来电"), ("电话", "来电"), ("来访", "来访"),
    )

    def channel(self, raw: str) -> int | None:
        n = _norm(raw)
        if not n:
            return None
        if n in self.channels:
            return self.channels[n]
        bare = _BRACKETS.sub("", n)
        for name, cid in self.channels.items():
            if _BRACKETS.sub("", name) == bare:
                return cid
        for word, target in self.CHANNEL_WORDS:
            if word in n and _norm(target) in self.channels:
                return self.channels[_norm(target)]
        return None


def guess_unit_level(name: str, township_name: str = "") -> Level:
    """The level of a unit the lists lack, from its name."""
    n = _norm(name)
    if re.search(r"(村|社区)(民|居民)?(委员会|委会|居委会)?$", n) or n.endswith(("村委", "居委")):
        return Level.VILLAGE
    if township_name and _norm(township_name) in n:
        return Level.TOWNSHIP
    if re.search(r"(镇|乡|街道)", n):
        return Level.TOWNSHIP
    if re.search(r"(区|县)", n):
        return Level.DISTRICT
    if "市" in n:
        return Level.CITY
    return Level.TOWNSHIP


# -- step 1: analyse -------------------------------------------------------------------------------


def analyse(path: Path, options: ImportOptions | None = None) -> Analysis:
    """Read the file and find each sheet's header and columns."""
    options = options or ImportOptions()
    path = Path(path)
    sheets = reader.read(path, options.sheets)
    plans: list[SheetPlan] = []
    skipped: list[tuple[str, str]] = []
    for sheet in sheets:
        if not any(cell_text(v) for row in sheet.rows for v in row):
            skipped.append((sheet.name, "空表"))
            continue
        header = detect_header(sheet, options.mapping)
        if header is None:
            skipped.append((sheet.name, "没有找到表头（至少需要诉求内容等 3 个可识别的列名）"))
            continue
        plans.append(SheetPlan(sheet, header, propose(header.labels, options.mapping)))
    if not plans:
        why = "；".join(f"“{n}”：{r}" for n, r in skipped) or "文件中没有工作表"
        raise ImportProblem(f"“{path.name}”中没有可导入的台账：{why}")
    return Analysis(path, plans, skipped, [s.name for s in sheets])


def remap(analysis: Analysis, mapping: ImportMapping) -> None:
    """Apply a corrected mapping to an analysed file (the wizard's column page)."""
    for plan in analysis.plans:
        plan.columns = propose(plan.header.labels, mapping)


# -- step 2: check ---------------------------------------------------------------------------------


class _Resolver:
    """Matches one kind of value, applying the user's choices, and counts what it did not know."""

    def __init__(self, lookups: Lookups, options: ImportOptions) -> None:
        self.lookups, self.options = lookups, options
        self.decided: dict[tuple[str, str], Unknown] = {}

    def _choice(self, kind: str, raw: str, default_create: bool, level: str = "") -> tuple[Unknown, Target | None]:
        """What to do with an unknown value: the user's choice, else the default."""
        key = (kind, raw)
        if key in self.decided:
            u = self.decided[key]
            u.rows += 1
            return u, self._target(kind, raw, u)
        choice: ValueChoice | None = self.options.mapping.choice(kind, raw)
        if choice is not None:
            u = Unknown(kind, raw, 1, choice.action, choice.to, choice.level or level)
        elif self.options.strict and kind != "village":
            u = Unknown(kind, raw, 1, "error")
        elif default_create and self.options.auto_create:
            u = Unknown(kind, raw, 1, "create", level=level)
        else:
            u = Unknown(kind, raw, 1, "empty")
        if kind == "village":
            u.suggestion = self.lookups.suggest_village(raw)
        self.decided[key] = u
        return u, self._target(kind, raw, u)

    def _target(self, kind: str, raw: str, u: Unknown) -> Target | None:
        if u.action == "map":
            return self._mapped(kind, u.to)
        if u.action == "create":
            if kind == "category":
                return Target(kind, create=split_category(raw))
            return Target(kind, create=(raw.strip(),), level=u.level)
        return None

    def _mapped(self, kind: str, name: str) -> Target | None:
        lk = self.lookups
        found: int | None
        if kind == "village":
            found = lk.village(name)
        elif kind == "unit":
            unit = lk.unit(name)
            found = unit[0] if unit else None
        elif kind == "channel":
            found = lk.channel(name)
        elif kind == "category":
            parts = split_category(name)
            node, matched = lk.category(parts)
            found = node if matched == len(parts) else None
        else:
            found = None
        if found is None:
            raise ImportProblem(f"{VALUE_KINDS[kind]}“{name}”不在名录中，无法作为对应目标")
        return Target(kind, found)

    def village(self, raw: str) -> tuple[Target | None, Unknown | None]:
        vid = self.lookups.village(raw)
        if vid is not None:
            return Target("village", vid), None
        u, t = self._choice("village", raw.strip(), default_create=False)
        return t, u

    def unit(self, raw: str) -> tuple[Target | None, Unknown | None]:
        found = self.lookups.unit(raw)
        if found is not None:
            return Target("unit", found[0]), None
        level = guess_unit_level(raw, self.lookups.township_name).value
        u, t = self._choice("unit", raw.strip(), default_create=True, level=level)
        return t, u

    def category(self, parts: tuple[str, ...]) -> tuple[Target | None, Unknown | None]:
        node, matched = self.lookups.category(parts)
        if matched == len(parts):
            return Target("category", node), None
        u, t = self._choice("category", " › ".join(parts), default_create=True)
        return t, u

    def channel(self, raw: str) -> tuple[Target | None, Unknown | None]:
        cid = self.lookups.channel(raw)
        if cid is not None:
            return Target("channel", cid), None
        u, t = self._choice("channel", raw.strip(), default_create=True)
        return t, u

    def unknowns(self) -> list[Unknown]:
        order = {k: i for i, k in enumerate(VALUE_KINDS)}
        return sorted(self.decided.values(), key=lambda u: (order[u.kind], -u.rows, u.value))


def split_category(text: str) -> tuple[str, ...]:
    parts = [p.strip() for p in _CATEGORY_SPLIT.split(text.strip()) if p.strip()]
    return tuple(parts[:3])


def _existing_keys(session: Session, first: date, last: date) -> set[tuple[Any, ...]]:
    q = (sa.select(Demand.received_on, Demand.content, Petitioner.phone, Petitioner.name, Petitioner.address)
         .outerjoin(Petitioner, Petitioner.id == Demand.petitioner_id)
         .where(Demand.received_on.between(first, last)))
    return {(person_key(phone or "", name or "", address or ""), content_key(content), day)
            for day, content, phone, name, address in session.execute(q)}


class _RowParser:
    """Turns one row's raw values into a Candidate, or into the reasons it cannot be one."""

    def __init__(self, lookups: Lookups, resolver: _Resolver, options: ImportOptions, multi_sheet: bool) -> None:
        self.lookups, self.resolver, self.options = lookups, resolver, options
        self.today = options.as_of
        self.multi_sheet = multi_sheet
        self.default_type = options.mapping.defaults.get("type", "")
        self.default_channel = options.mapping.defaults.get("channel", "")

    def parse(self, plan: SheetPlan, row_no: int, values: dict[str, Any], order: int
              ) -> tuple[Candidate | None, list[Issue], list[Issue]]:
        errors: list[Issue] = []
        warnings: list[Issue] = []

        def problem(key: str, raw: Any, reason: str, level: str = ERROR) -> None:
            (errors if level == ERROR else warnings).append(
                Issue(level, plan.name, row_no, plan.column_title(key), cell_text(raw), reason))

        content = cell_text(values.get("content"))
        if not content:
            problem("content", "", "诉求内容不能为空")

        raw_type = cell_text(values.get("type")) or self.default_type
        dtype: DemandType | None = None
        if not raw_type:
            problem("type", "", "诉求类型不能为空（应为 咨询/建议/求决/投诉）")
        else:
            try:
                dtype = parse_type(raw_type)
            except ValueError:
                problem("type", raw_type, f"无法识别的诉求类型“{raw_type}”：应为 咨询/建议/求决/投诉（可带“类”字）")

        received: date | None = None
        raw_date = values.get("received")
        try:
            received = parse_date(raw_date if raw_date is not None else "")
            if received > self.today:
                problem("received", raw_date, f"受理日期 {received} 晚于今天（{self.today}），不能是将来的日期")
                received = None
            elif received < EARLIEST:
                problem("received", raw_date, f"受理日期 {received} 早于 1990 年，请检查")
                received = None
        except ValueError as exc:
            problem("received", raw_date, "受理日期不能为空" if str(exc) == "不能为空" else str(exc))

        remarks = cell_text(values.get("remarks"))
        phones = split_phones(values.get("phone"))
        phone = ""
        if phones:
            reason = phone_problem(phones[0])
            if reason:
                problem("phone", values.get("phone"), f"联系方式不正确：{reason}")
            else:
                phone = normalise_phone(phones[0])
                others = [p for p in phones[1:] if not phone_problem(p)]
                if others:
                    extra = "其他联系方式：" + "、".join(normalise_phone(p) for p in others)
                    remarks = f"{remarks}；{extra}" if remarks else extra
        name = cell_text(values.get("name"))
        address = cell_text(values.get("address"))

        # The village: its column, else the start of the address, else the sheet's name.
        village: Target | None = None
        raw_village = cell_text(values.get("village"))
        if raw_village:
            village, _ = self.resolver.village(raw_village)
        if village is None:
            vid = self.lookups.village_in_address(address) or self.lookups.village(plan.name)
            if vid is not None:
                village = Target("village", vid)
            elif raw_village:
                problem("village", raw_village,
                        f"村(社区)“{raw_village}”不在本乡镇名录中，导入后不归属任何村(社区)", WARNING)
            else:
                problem("address", address,
                        "未能从村(社区)列、住址或工作表名识别村(社区)，导入后不归属任何村(社区)", WARNING)

        grid_id: int | None = None
        raw_grid = cell_text(values.get("grid"))
        if raw_grid:
            if village is not None and village.id is not None:
                grid_id = self.lookups.grids.get((village.id, _norm(raw_grid)))
            if grid_id is None:
                problem("grid", raw_grid, f"网格“{raw_grid}”不属于所识别的村(社区)，未记录网格", WARNING)

        def resolved(key: str, raw: str, result: tuple[Target | None, Unknown | None]) -> Target | None:
            target, unknown = result
            if unknown is not None and unknown.action == "error":
                problem(key, raw, f"{unknown.kind_title}“{raw}”不在名录中（严格模式不自动新建）")
            return target

        unit = None
        raw_unit = cell_text(values.get("unit"))
        if raw_unit:
            unit = resolved("unit", raw_unit, self.resolver.unit(raw_unit))

        parts: tuple[str, ...] = ()
        level_keys = ("category1", "category2", "category3")
        if any(cell_text(values.get(k)) for k in level_keys):
            parts = tuple(cell_text(values.get(k)) for k in level_keys)
            while parts and not parts[-1]:
                parts = parts[:-1]
            if "" in parts:
                problem("category1", " / ".join(parts), "诉求类别的上一级为空，未记录类别", WARNING)
                parts = ()
        elif cell_text(values.get("category")):
            parts = split_category(cell_text(values.get("category")))
        category = None
        if parts:
            key = "category" if "category" in plan.columns.values() else "category1"
            category = resolved(key, " › ".join(parts), self.resolver.category(parts))

        channel = None
        raw_channel = cell_text(values.get("channel")) or self.default_channel
        if raw_channel:
            channel = resolved("channel", raw_channel, self.resolver.channel(raw_channel))

        original_no = cell_text(values.get("original_no"))
        seq = cell_text(values.get("seq"))
        if not original_no and seq:
            original_no = f"{plan.name}-{seq}" if self.multi_sheet else seq

        # The old ledger's outcome: 办结 by its status or by a 办结日期, and its evaluation.
        raw_status = cell_text(values.get("status"))
        says_closed = status_closed(raw_status)
        raw_closed = values.get("closed")
        closed_text = cell_text(raw_closed)
        closed_on: date | None = None
        if any(ch.isdigit() for ch in closed_text):  # "未办结", "/", "—" are no date
            try:
                closed_on = parse_date(raw_closed)
            except ValueError as exc:
                problem("closed", raw_closed, f"办结日期：{exc}")
            else:
                if closed_on > self.today:
                    problem("closed", raw_closed, f"办结日期 {closed_on} 晚于今天（{self.today}），不能是将来的日期")
                elif received is not None and closed_on < received:
                    problem("closed", raw_closed, f"办结日期 {closed_on} 早于受理日期 {received}，请核对")
                elif says_closed is False:
                    problem("status", raw_status, f"状态为“{raw_status}”，却填有办结日期 {closed_on}，请核对")
        closed = bool(says_closed) or closed_on is not None
        raw_satisfaction = cell_text(values.get("satisfaction"))
        satisfaction = parse_satisfaction(raw_satisfaction) if raw_satisfaction else None
        if raw_satisfaction and satisfaction is None and _looks_like_evaluation(raw_satisfaction):
            problem("satisfaction", raw_satisfaction,
                    f"无法识别的满意度“{raw_satisfaction}”（应为 满意/基本满意/不满意），未导入为评价，仅记入导入记录",
                    WARNING)
        elif satisfaction is not None and not closed:
            problem("satisfaction", raw_satisfaction,
                    "原台账未记载办结，满意度未导入为评价（诉求按待甄别导入），仅记入导入记录", WARNING)
            satisfaction = None
        result = cell_text(values.get("result"))
        kept = ("status", "closed", "satisfaction", "deadline") + (() if closed else ("result",))
        original = {FIELD_BY_KEY[k].title.split("（")[0]: cell_text(values.get(k))
                    for k in kept if cell_text(values.get(k))}
        if errors or dtype is None or received is None:
            return None, errors, warnings
        cand = Candidate(plan.name, row_no, order, dtype, content, received, name, phone, address, remarks,
                         original_no[:60], village, grid_id, unit, category, channel, original,
                         closed=closed, closed_on=closed_on, result=result if closed else "",
                         satisfaction=satisfaction,
                         satisfaction_text=raw_satisfaction if satisfaction is not None
                         and _norm(raw_satisfaction) != satisfaction.label else "")
        return cand, errors, warnings


def _looks_like_evaluation(text: str) -> bool:
    """A 满意度 cell worth a warning when not understood: not "未回访", "/", "—" and the like."""
    t = _norm(text)
    if re.match(r"^(未|待|无|暂无|不需|不评|—|-|/)", t):
        return False
    return any("\u4e00" <= ch <= "\u9fff" for ch in t)


def check(session: Session, analysis: Analysis, options: ImportOptions, *, progress: Progress | None = None,
          cancelled: CancelFlag | None = None) -> Checked:
    """Parse, validate, match and de-duplicate every row; write nothing."""
    lookups = Lookups(session)
    resolver = _Resolver(lookups, options)
    parser = _RowParser(lookups, resolver, options, multi_sheet=len(analysis.plans) > 1)
    issues: list[Issue] = []
    parsed: list[tuple[Candidate, tuple[Any, ...]]] = []
    read = error_rows = 0
    all_rows = [(plan, plan.rows()) for plan in analysis.plans]
    ticker = Ticker(progress, cancelled, sum(len(rows) for _, rows in all_rows), "检查数据")

    for plan, rows in all_rows:
        missing = plan.missing(options.mapping)
        if missing:
            titles = "、".join(FIELD_BY_KEY[k].title for k in missing)
            issues.append(Issue(ERROR, plan.name, plan.header.excel_row, "表头", "",
                                f"缺少必需的列：{titles}（可在列对应中指定）；本表 {len(rows)} 行均未导入"))
            read += len(rows)
            error_rows += len(rows)
            ticker.tick(read, force=True)
            continue
        for row_no, values in rows:
            read += 1
            ticker.tick(read)
            cand, errors, warnings = parser.parse(plan, row_no, values, len(parsed))
            if cand is None:
                error_rows += 1
                issues.extend(errors)
                continue
            issues.extend(warnings)
            parsed.append((cand, (person_key(cand.phone, cand.name, cand.address), content_key(cand.content),
                                  cand.received)))

    # Duplicates: within the file (the first occurrence is kept), then against the database.
    candidates: list[Candidate] = []
    duplicates = 0
    first_seen: dict[tuple[Any, ...], Candidate] = {}
    existing: set[tuple[Any, ...]] = set()
    if parsed:
        days = [c.received for c, _ in parsed]
        existing = _existing_keys(session, min(days), max(days))
    for cand, key in parsed:
        earlier = first_seen.get(key)
        if earlier is not None:
            duplicates += 1
            where = f"工作表“{earlier.sheet}”第 {earlier.row} 行" if earlier.sheet != cand.sheet else \
                f"第 {earlier.row} 行"
            issues.append(Issue(DUPLICATE, cand.sheet, cand.row, "", cand.content[:40],
                                f"与本文件{where}重复（同一反映人、同一内容、同一日期），不重复导入"))
            continue
        first_seen[key] = cand
        if key in existing:
            duplicates += 1
            issues.append(Issue(DUPLICATE, cand.sheet, cand.row, "", cand.content[:40],
                                "数据库中已有同一反映人、同一内容、同一日期的诉求，不重复导入"))
            continue
        candidates.append(cand)
    ticker.tick(read, force=True)
    issues.sort(key=lambda i: (i.level != ERROR, i.level != DUPLICATE, _sheet_order(analysis, i.sheet), i.row))
    return Checked(analysis, candidates, issues, resolver.unknowns(), read, error_rows, duplicates,
                   {plan.name: len(rows) for plan, rows in all_rows})


def _sheet_order(analysis: Analysis, name: str) -> int:
    for i, plan in enumerate(analysis.plans):
        if plan.name == name:
            return i
    return len(analysis.plans)


# -- step 3: write -----------------------------------------------------------------------------------


class _Creator:
    """Creates the entries chosen to be created, once each, and audits them."""

    def __init__(self, session: Session, actor: User | None) -> None:
        self.session, self.actor = session, actor
        self.ids: dict[tuple[str, tuple[str, ...]], int] = {}
        self.levels: dict[int, Level] = {}
        self.created: dict[str, list[str]] = defaultdict(list)
        self.town = setup.township(session)

    def resolve(self, target: Target | None) -> int | None:
        if target is None:
            return None
        if target.id is not None:
            return target.id
        key = (target.kind, target.create)
        if key not in self.ids:
            self.ids[key] = getattr(self, f"_create_{target.kind}")(target)
        return self.ids[key]

    def _audit(self, entity: str, entity_id: int, title: str, name: str) -> None:
        record(self.session, self.actor, "create", entity, entity_id, summary=f"导入台账时新建{title}：{name}",
               after={"name": name})
        self.created[entity].append(name)

    def _create_village(self, target: Target) -> int:
        name = target.create[0]
        sort = (self.session.scalar(sa.select(sa.func.max(Village.sort))) or 0) + 1
        village = setup.add_village(self.session, self.town, setup.VillageSpec(name), sort=sort)
        self._audit("village", village.id, "村(社区)", name)
        return village.id

    def _create_unit(self, target: Target) -> int:
        name = target.create[0]
        level = Level(target.level) if target.level else guess_unit_level(name, self.town.name)
        unit = setup.ensure_unit(self.session, name, level)
        self._audit("unit", unit.id, "责任单位", name)
        return unit.id

    def _create_channel(self, target: Target) -> int:
        name = target.create[0]
        sort = (self.session.scalar(sa.select(sa.func.max(Channel.sort))) or 0) + 1
        channel = Channel(name=name[:30], sort=sort)
        self.session.add(channel)
        self.session.flush()
        self._audit("channel", channel.id, "诉求来源", name)
        return channel.id

    def _create_category(self, target: Target) -> int:
        parent: int | None = None
        for depth, name in enumerate(target.create, start=1):
            found = self.session.scalar(sa.select(Category.id).where(
                Category.parent_id.is_(None) if parent is None else Category.parent_id == parent,
                Category.name == name))
            if found is None:
                sort = (self.session.scalar(sa.select(sa.func.max(Category.sort)).where(
                    Category.parent_id.is_(None) if parent is None else Category.parent_id == parent)) or 0) + 1
                node = Category(name=name[:40], parent_id=parent, depth=depth, sort=sort)
                self.session.add(node)
                self.session.flush()
                found = node.id
                self._audit("category", node.id, "诉求类别", " › ".join(target.create[:depth]))
            parent = found
        assert parent is not None
        return parent

    def unit_level(self, unit_id: int) -> Level:
        if unit_id not in self.levels:
            self.levels[unit_id] = self.session.scalar(sa.select(Unit.level).where(Unit.id == unit_id)) or Level.TOWNSHIP
        return self.levels[unit_id]


def _import_summary(file_name: str, cand: Candidate) -> str:
    parts = [f"导入自 {file_name}，工作表“{cand.sheet}”，第 {cand.row} 行"]
    if cand.original_no:
        parts.append(f"原编号 {cand.original_no}")
    if cand.original:
        parts.append("原台账记载：" + "，".join(f"{k} {v}" for k, v in cand.original.items()))
    return "；".join(parts)


def write(session: Session, actor: User | None, checked: Checked, options: ImportOptions, *,
          progress: Progress | None = None, cancelled: CancelFlag | None = None) -> tuple[list[int], dict[str, list[str]]]:
    """Register every candidate (oldest first); returns the new demands' ids and what was created."""
    access.require(actor, "import")
    creator = _Creator(session, actor)
    path = checked.analysis.path
    ordered = sorted(checked.candidates, key=lambda c: (c.received, c.order))
    ticker = Ticker(progress, cancelled, len(ordered), "写入数据库")
    items: list[demands.DemandInput] = []
    file = str(path)
    for cand in ordered:
        village_id = creator.resolve(cand.village)
        history = demands.LedgerHistory(
            summary=_import_summary(path.name, cand),
            details={"file": file, "sheet": cand.sheet, "row": cand.row, "original_no": cand.original_no,
                     "original": cand.original},
            unit_id=creator.resolve(cand.unit), closed=cand.closed, closed_on=cand.closed_on,
            result_summary=cand.result, satisfaction=cand.satisfaction, satisfaction_text=cand.satisfaction_text,
        )
        items.append(demands.DemandInput(
            type=cand.type, content=cand.content, received_on=cand.received,
            category_id=creator.resolve(cand.category), channel_id=creator.resolve(cand.channel),
            village_id=village_id, grid_id=cand.grid_id if village_id is not None else None,
            petitioner_name=cand.name, petitioner_phone=cand.phone, petitioner_address=cand.address,
            remarks=cand.remarks, original_no=cand.original_no, history=history,
        ))
    ticker.tick(0, force=True)
    try:
        ids = demands.register_many(session, actor, items, today=options.as_of, check_role=False,
                                    on_progress=lambda done, _total: ticker.tick(done, force=True))
    except demands.ItemError as exc:
        cand = ordered[exc.index]
        raise ImportProblem(f"工作表“{cand.sheet}”第 {cand.row} 行无法登记：{exc.item_field}：{exc.reason}；"
                            "未写入任何数据") from exc
    ticker.tick(len(ordered), force=True)
    return ids, dict(creator.created)


# -- all steps ------------------------------------------------------------------------------------------


def run(db: Database, path: Path, options: ImportOptions | None = None, *, actor: User | None = None,
        dry_run: bool = False, progress: Progress | None = None, cancelled: CancelFlag | None = None,
        analysis: Analysis | None = None) -> ImportResult:
    """Check and (unless ``dry_run``) import a ledger file in one transaction.

    Without ``actor`` the command-line actor is used. Nothing is written when any row has
    an error, unless ``options.skip_invalid``; nothing is written on a dry run.
    """
    options = options or ImportOptions()
    path = Path(path)
    analysis = analysis or analyse(path, options)
    if dry_run:
        with db.read() as session:
            checked = check(session, analysis, options, progress=progress, cancelled=cancelled)
        return _result(path, checked, dry_run=True, written=False)
    with db.write() as session:
        who = actor if actor is not None else setup.command_line_actor(session)
        access.require(who, "import")
        checked = check(session, analysis, options, progress=progress, cancelled=cancelled)
        if checked.error_rows and not options.skip_invalid:
            return _result(path, checked, dry_run=False, written=False)
        ids, created = write(session, who, checked, options, progress=progress, cancelled=cancelled)
    return _result(path, checked, dry_run=False, written=True, ids=ids, created=created)


def _result(path: Path, checked: Checked, *, dry_run: bool, written: bool, ids: list[int] | None = None,
            created: dict[str, list[str]] | None = None) -> ImportResult:
    sheets = [SheetSummary(p.name, p.header.excel_row,
                           {p.header.labels[c]: FIELD_BY_KEY[k].title for c, k in sorted(p.columns.items())},
                           checked.sheet_rows.get(p.name, 0)) for p in checked.analysis.plans]
    return ImportResult(
        file=str(path), sheets=sheets, skipped_sheets=checked.analysis.skipped, read=checked.read,
        to_import=len(checked.candidates), imported=len(ids or []), duplicates=checked.duplicates,
        errors=checked.error_rows, issues=checked.issues, unknowns=checked.unknowns, created=created or {},
        dry_run=dry_run, written=written, demand_ids=ids or [],
    )


# -- the report ---------------------------------------------------------------------------------------------


def write_report(result: ImportResult, target: Path) -> Path:
    """The issues as an .xlsx the user can open: level, sheet, original row, column, value, reason."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    ws = book.active
    ws.title = "问题清单"
    head = ["级别", "工作表", "原行号", "列", "值", "原因"]
    ws.append(head)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="D9E1F2")
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
    error_fill = PatternFill("solid", fgColor="FDE2E1")
    for issue in result.issues:
        r = ws.max_row + 1
        values = [issue.level_title, issue.sheet, issue.row or "", issue.column, issue.value, issue.reason]
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            set_text(cell, value)
            cell.alignment = Alignment(vertical="top", wrap_text=c in (5, 6))
            if issue.level == ERROR and c == 1:
                cell.fill = error_fill
    for letter, width in zip("ABCDEF", (8, 14, 8, 22, 36, 60), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = f"A1:F{ws.max_row}"

    info = book.create_sheet("汇总")
    rows: list[tuple[str, Any]] = [
        ("文件", result.file),
        ("结果", result.describe()),
        ("读取行数", result.read),
        ("可导入", result.to_import),
        ("已导入", result.imported),
        ("重复", result.duplicates),
        ("错误行数", result.errors),
        ("提示", result.warnings),
        ("生成时间", datetime.now().strftime("%Y-%m-%d %H:%M")),
    ]
    for s in result.sheets:
        rows.append((f"工作表“{s.name}”", f"表头在第 {s.header_row} 行，数据 {s.rows} 行；"
                     + "，".join(f"{label}→{title}" for label, title in s.columns.items())))
    for name, why in result.skipped_sheets:
        rows.append((f"未导入的工作表“{name}”", why))
    for u in result.unknowns:
        rows.append((f"名录中没有的{u.kind_title}", f"{u.value}（{u.rows} 行）：{u.action_title}"))
    for kind, names in result.created.items():
        title = VALUE_KINDS.get(kind, kind)
        rows.append((f"新建的{title}", "、".join(names)))
    for label, value in rows:
        info.append([label])
        set_text(info.cell(row=info.max_row, column=2), value)
        info.cell(row=info.max_row, column=1).font = bold
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 100
    target = Path(target)
    book.save(target)
    return target


def default_report_path(source: Path) -> Path:
    return Path(source).with_name(f"{Path(source).stem}-导入问题清单.xlsx")

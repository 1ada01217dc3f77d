"""Which column holds which field: synonyms, header detection, and saved mappings (JSON).

A ledger's header is found among its first rows as the row whose cells name the most
known fields; a two-row header (诉求类别 merged over 一级/二级/三级, other titles merged
down over both rows) is folded into one label per column (``诉求类别一级``). The proposed
mapping can be corrected and saved as a small JSON file, reused for the next import.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from app.errors import DomainError
from app.excel.reader import RawSheet

HEADER_SCAN_ROWS = 30
MIN_HEADER_FIELDS = 3
MAPPING_KIND = "kuaichu-import-mapping"


@dataclass(frozen=True)
class FieldSpec:
    key: str
    title: str
    synonyms: tuple[str, ...]
    stored: bool = True  # False: read and kept in the import event only (the old deadline)


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("seq", "序号", ("序号", "顺序号", "序", "no", "no.", "行号")),
    FieldSpec("original_no", "原编号", ("编码", "统一编码", "编号", "原编号", "诉求编号", "诉求编码", "案件编号",
                                      "案件编码", "工单号", "工单编号", "登记编号", "台账编号")),
    FieldSpec("received", "受理日期", ("受理日期", "受理时间", "登记日期", "登记时间", "日期", "反映时间", "反映日期",
                                    "收集时间", "收集日期", "来访时间", "来访日期", "来电时间", "时间", "诉求时间",
                                    "接收时间", "接收日期", "排查时间", "排查日期", "交办时间")),
    FieldSpec("name", "反映人", ("反映人", "诉求人", "姓名", "反映人姓名", "诉求人姓名", "群众姓名", "来访人",
                                "来电人", "当事人", "申请人", "反映群众", "诉求群众")),
    FieldSpec("phone", "联系方式", ("联系方式", "联系电话", "电话", "手机", "手机号", "手机号码", "电话号码",
                                   "联系号码", "反映人电话", "诉求人电话")),
    FieldSpec("address", "住址", ("住址", "地址", "家庭住址", "居住地址", "详细地址", "现住址", "住所",
                                 "反映人住址", "诉求人住址", "家庭地址")),
    FieldSpec("village", "村(社区)", ("村(社区)", "所属村(社区)", "村社区", "所属村", "所属社区", "村名", "村",
                                     "社区", "村别", "村(居)", "村居", "所在村", "所在村(社区)", "村(社区)名称")),
    FieldSpec("grid", "网格", ("网格", "所属网格", "网格名称", "网格号")),
    FieldSpec("type", "诉求类型", ("诉求类型", "类型", "诉求性质", "问题类型", "诉求种类", "问题性质")),
    FieldSpec("category", "诉求类别（一格内写全）", ("诉求类别", "类别", "问题类别", "问题分类", "诉求分类",
                                                 "所属类别", "分类")),
    FieldSpec("category1", "诉求类别·一级", ("一级", "一级类别", "诉求类别一级", "一级分类", "类别一级")),
    FieldSpec("category2", "诉求类别·二级", ("二级", "二级类别", "诉求类别二级", "二级分类", "类别二级")),
    FieldSpec("category3", "诉求类别·三级", ("三级", "三级类别", "诉求类别三级", "三级分类", "类别三级")),
    FieldSpec("channel", "诉求来源", ("诉求来源", "来源", "渠道", "诉求渠道", "反映渠道", "收集方式", "收集渠道",
                                   "来源渠道", "受理方式", "打捞方式", "反映方式", "诉求方式")),
    FieldSpec("content", "诉求内容", ("诉求内容", "反映问题", "具体诉求", "问题描述", "主要诉求", "反映内容",
                                   "诉求事项", "反映事项", "内容", "诉求", "问题", "主要问题", "反映的问题",
                                   "诉求内容摘要", "反映问题及诉求", "诉求描述", "事项", "具体问题")),
    FieldSpec("unit", "责任单位", ("责任单位", "承办单位", "办理单位", "责任部门", "承办部门", "交办单位", "主办单位",
                                 "牵头单位", "责任主体")),
    FieldSpec("remarks", "备注", ("备注", "备注说明")),
    FieldSpec("deadline", "办理时限（仅记录）", ("办理时限", "办理期限", "时限", "期限", "截止日期"), stored=False),
    # The old ledger's outcome: a row it records as 办结 is imported as closed (see importer).
    FieldSpec("status", "办理状态", ("状态", "办理状态", "办结情况", "办理进度", "是否办结", "办结状态", "处理状态",
                                  "当前状态", "诉求状态", "是否办结销号", "销号情况")),
    FieldSpec("closed", "办结日期", ("办结日期", "办结时间", "完成时间", "完成日期", "销号日期", "销号时间",
                                  "办结销号时间", "办结销号日期", "实际办结时间", "实际办结日期")),
    FieldSpec("result", "办理结果", ("办理结果", "处理结果", "办理情况", "处理情况", "答复情况", "办理结果及答复",
                                  "化解情况", "处置情况", "处置结果", "办理答复情况", "解决情况")),
    FieldSpec("satisfaction", "满意度", ("满意度", "群众评价", "满意情况", "回访评价", "评价", "群众满意度",
                                      "满意度评价", "评价结果", "满意度测评", "群众满意度测评")),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
IGNORE = ""  # the mapping target of a column that is not imported
LEVEL_LABELS = {"一级": "一级", "二级": "二级", "三级": "三级", "1级": "一级", "2级": "二级", "3级": "三级"}
REQUIRED = ("content", "type", "received")


def normalise_label(value: Any) -> str:
    """Full-width to half-width, no blanks, no required-field stars or trailing colons."""
    if value is None or isinstance(value, date | datetime | time | bool):
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = re.sub(r"\s+", "", text).strip("*:")
    return text.lower()


_EXACT: dict[str, str] = {}
for _spec in FIELDS:
    for _syn in _spec.synonyms:
        _EXACT.setdefault(normalise_label(_syn), _spec.key)
# Words specific enough to find inside a longer title ("联系电话(手机)" has 电话); general ones
# (诉求, 问题, 时间...) only match a whole title.
_SPECIFIC_PAIRS = {"电话", "手机", "住址", "地址", "姓名", "备注", "网格", "渠道", "编号", "编码", "序号", "时限"}
_CONTAINS = sorted(((normalise_label(s), f.key) for f in FIELDS for s in f.synonyms
                    if len(s) >= 3 or s in _SPECIFIC_PAIRS), key=lambda p: -len(p[0]))
_LEVEL_RE = re.compile(r"([一二三123])级")


def match_label(label: Any) -> tuple[str | None, bool]:
    """(field, exact) for a header label: exact when the whole title is a known name."""
    n = normalise_label(label)
    if not n or len(n) > 30:
        return None, False
    if n in _EXACT:
        return _EXACT[n], True
    bare = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", n)
    if bare in _EXACT:
        return _EXACT[bare], True
    level = _LEVEL_RE.search(n)
    if level and ("类" in n or len(bare) <= 3):
        return "category" + {"一": "1", "二": "2", "三": "3"}.get(level.group(1), level.group(1)), True
    for syn, key in _CONTAINS:
        if syn in bare:
            return key, False
    return None, False


def field_for(label: Any) -> str | None:
    """The field a header label names, or None."""
    return match_label(label)[0]


def is_level_label(value: Any) -> bool:
    return is_level_normalised(normalise_label(value))


def is_level_normalised(n: str) -> bool:
    """``is_level_label`` of a label already through ``normalise_label``."""
    return n in LEVEL_LABELS or bool(_LEVEL_RE.fullmatch(n))


# -- header detection ----------------------------------------------------------------------


@dataclass
class Header:
    row: int  # 0-based index of the header's first row
    height: int  # 1 or 2 rows
    labels: list[str]  # one per column, two-row headers folded ("诉求类别一级")

    @property
    def first_data_row(self) -> int:
        return self.row + self.height

    @property
    def excel_row(self) -> int:
        return self.row + 1


def _known(label: Any, saved: dict[str, str]) -> str | None:
    text = _text(label)
    if text in saved:
        return saved[text] or None
    return field_for(label)


def _row_fields(sheet: RawSheet, r: int, saved: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for c in range(len(sheet.rows[r])):
        value = sheet.rows[r][c]
        if isinstance(value, str) and value.strip():
            key = _known(value, saved)
            if key is not None:
                found.add(key)
    return found


def detect_header(sheet: RawSheet, mapping: ImportMapping | None = None) -> Header | None:
    """The header of a sheet: the row among the first 30 naming the most fields (at least 3).

    Titles a saved mapping names count as known, so a ledger with home-made titles is
    found once its mapping has been saved.
    """
    saved = mapping.columns if mapping else {}
    best, best_score = -1, 0
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        score = len(_row_fields(sheet, r, saved))
        if score > best_score:
            best, best_score = r, score
    if best < 0:
        return None
    height = 2 if _is_second_header_row(sheet, best) else 1
    labels = _fold_labels(sheet, best, height)
    folded = {_known(x, saved) for x in labels if x}
    if len(folded - {None}) < MIN_HEADER_FIELDS or "content" not in folded:
        return None
    return Header(best, height, labels)


def _is_second_header_row(sheet: RawSheet, r: int) -> bool:
    nxt = r + 1
    if nxt >= len(sheet.rows):
        return False
    for m in sheet.merges:
        if m.first_row == r and m.last_row >= nxt:
            return True  # a title merged down over both header rows
        if m.first_row == m.last_row == r and m.last_col > m.first_col:
            if any(str(sheet.cell(nxt, c)).strip() for c in range(m.first_col, m.last_col + 1)):
                return True  # a title spanning columns with sub-titles below it
    cells = [v for v in sheet.rows[nxt] if not (isinstance(v, str) and not v.strip())]
    if not cells or not all(isinstance(v, str) for v in cells):
        return False
    if not all(is_level_label(v) or field_for(v) is not None for v in cells):
        return False
    under_blank = any(str(v).strip() and not str(sheet.cell(r, c)).strip() for c, v in enumerate(sheet.rows[nxt]))
    return under_blank or any(is_level_label(v) for v in cells)


def _fold_labels(sheet: RawSheet, r: int, height: int) -> list[str]:
    width = max(len(sheet.rows[r]), len(sheet.rows[r + 1]) if height == 2 else 0)
    labels: list[str] = []
    carry = ""
    for c in range(width):
        top = _text(sheet.merged_value(r, c))
        if height == 1:
            labels.append(top)
            continue
        bottom = _text(sheet.merged_value(r + 1, c))
        if not top and bottom and not sheet.merges:
            top = carry  # a CSV: the title stands only above the first of its sub-columns
        elif top:
            carry = top
        if not bottom or bottom == top:
            labels.append(top)
        elif not top:
            labels.append(bottom)
        elif is_level_label(bottom):
            labels.append(top + bottom)
        elif field_for(bottom) is not None:
            labels.append(bottom)
        else:
            labels.append(top + bottom)
    return labels


def _text(value: Any) -> str:
    if value is None or isinstance(value, date | datetime | time):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", "", str(value))


# -- mappings ------------------------------------------------------------------------------


@dataclass
class ValueChoice:
    """What to do with a value the database's lists do not know."""

    action: str  # "map" to an existing entry, "create" it, or leave the field "empty"
    to: str = ""  # the existing entry's name (map)
    level: str = ""  # a new unit's level code (create)

    def as_json(self) -> dict[str, str]:
        out = {"action": self.action}
        if self.to:
            out["to"] = self.to
        if self.level:
            out["level"] = self.level
        return out


VALUE_KINDS = {"village": "村(社区)", "unit": "责任单位", "category": "诉求类别", "channel": "诉求来源",
               "grid": "网格"}


@dataclass
class ImportMapping:
    """A user's corrections, saved to reuse: columns by header label, defaults, value choices."""

    columns: dict[str, str] = field(default_factory=dict)  # header label -> field key ("" = ignore)
    defaults: dict[str, str] = field(default_factory=dict)  # field key -> value when the column is missing
    values: dict[str, dict[str, ValueChoice]] = field(default_factory=dict)  # kind -> raw value -> choice

    def choice(self, kind: str, raw: str) -> ValueChoice | None:
        return self.values.get(kind, {}).get(raw)

    def set_choice(self, kind: str, raw: str, choice: ValueChoice | None) -> None:
        if choice is None:
            self.values.get(kind, {}).pop(raw, None)
        else:
            self.values.setdefault(kind, {})[raw] = choice

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": MAPPING_KIND,
            "version": 1,
            "columns": dict(self.columns),
            "defaults": dict(self.defaults),
            "values": {k: {raw: c.as_json() for raw, c in v.items()} for k, v in self.values.items() if v},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportMapping:
        if not isinstance(data, dict) or data.get("kind") != MAPPING_KIND:
            raise DomainError("不是快处台账的列对应文件")
        columns = {str(k): str(v) for k, v in (data.get("columns") or {}).items()}
        unknown = sorted({v for v in columns.values() if v and v not in FIELD_BY_KEY})
        if unknown:
            raise DomainError(f"列对应文件中有未知字段：{'、'.join(unknown)}")
        values: dict[str, dict[str, ValueChoice]] = {}
        for kind, choices in (data.get("values") or {}).items():
            if kind not in VALUE_KINDS:
                raise DomainError(f"列对应文件中有未知的取值类别：{kind}")
            values[kind] = {}
            for raw, c in choices.items():
                if c.get("action") not in ("map", "create", "empty"):
                    raise DomainError(f"列对应文件中“{raw}”的处理方式不正确")
                values[kind][raw] = ValueChoice(c["action"], c.get("to", ""), c.get("level", ""))
        return cls(columns, {str(k): str(v) for k, v in (data.get("defaults") or {}).items()}, values)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.as_json(), ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ImportMapping:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise DomainError(f"找不到列对应文件：{path}") from None
        except (OSError, ValueError) as exc:
            raise DomainError(f"无法读取列对应文件 {path}：{exc}") from None
        return cls.from_json(data)


def propose(labels: list[str], mapping: ImportMapping | None = None) -> dict[int, str]:
    """Column index -> field key; each field goes to the first column naming it.

    A saved mapping's entry for a label wins over the synonyms (an empty entry ignores
    the column).
    """
    out: dict[int, str] = {}
    taken: set[str] = set()
    saved = mapping.columns if mapping else {}
    for c, label in enumerate(labels):  # the user's own choices first
        if label in saved:
            key = saved[label]
            if key and key not in taken:
                out[c] = key
                taken.add(key)
    for want_exact in (True, False):  # then whole-title names, then names inside titles
        for c, label in enumerate(labels):
            if not label or c in out or label in saved:
                continue
            key, exact = match_label(label)
            if key and exact == want_exact and key not in taken:
                out[c] = key
                taken.add(key)
    return out


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters

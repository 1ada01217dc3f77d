"""The working-day calendar as the database sees it: built-in data plus the holiday table."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import access
from app.errors import ValidationError
from app.models import Holiday, User
from app.services.audit import record
from app.workcal import DayOverride, WorkCalendar, builtin_years

_cache: dict[tuple, WorkCalendar] = {}


def load_calendar(session: Session) -> WorkCalendar:
    rows = session.execute(sa.select(Holiday.day, Holiday.is_workday, Holiday.name)).all()
    key = tuple(sorted(rows))
    cal = _cache.get(key)
    if cal is None:
        _cache.clear()
        cal = WorkCalendar(DayOverride(d, w, n) for d, w, n in rows)
        _cache[key] = cal
    return cal


# An official schedule gives about 30 rest days off work (weekends inside the holidays
# included); a year entered with far fewer is probably incomplete.
FEW_REST_DAYS = 15


@dataclass(frozen=True)
class Coverage:
    builtin: range
    table_years: list[int]
    missing: list[int]  # among the current and the next year
    thin: dict[int, int]  # table-only years with few rest days entered: year → rest days

    def warning(self) -> str:
        parts = []
        if self.missing:
            years = "、".join(str(y) for y in self.missing)
            parts.append(
                f"节假日数据未覆盖 {years} 年：落在该年的期限按周一至周五暂定计算，"
                f"并标为“暂定”。请在国务院公布安排后于“设置 › 节假日”录入或导入。"
            )
        for year, n in sorted(self.thin.items()):
            parts.append(f"{year} 年只录入了 {n} 个休息日（国务院安排通常约 30 天），请核对是否完整。")
        return "\n".join(parts)


def coverage(session: Session, today: date | None = None) -> Coverage:
    today = today or date.today()
    cal = load_calendar(session)
    rows = session.execute(sa.select(Holiday.day, Holiday.is_workday)).all()
    table_years = sorted({d.year for d, _ in rows})
    builtin = builtin_years()
    rest = {y: sum(1 for d, work in rows if d.year == y and not work) for y in table_years if y not in builtin}
    thin = {y: n for y, n in rest.items() if n < FEW_REST_DAYS and y >= today.year}
    return Coverage(builtin, table_years, cal.uncovered([today.year, today.year + 1]), thin)


KIND_WORDS = {"休": False, "假": False, "休息": False, "off": False, "班": True, "上班": True, "work": True}


def parse_holiday_csv(text: str) -> list[DayOverride]:
    """Rows of ``date,休|班,name``; a header row is allowed. Errors name the line."""
    out: list[DayOverride] = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
            continue
        if lineno == 1 and row[0].strip() in ("date", "日期"):
            continue
        if len(row) < 2:
            raise ValidationError(f"第 {lineno} 行", "应为“日期,休/班,名称”三列")
        try:
            day = date.fromisoformat(row[0].strip().replace("/", "-"))
        except ValueError:
            raise ValidationError(f"第 {lineno} 行 日期", f"“{row[0]}”不是 YYYY-MM-DD 格式的日期") from None
        kind = row[1].strip()
        if kind not in KIND_WORDS:
            raise ValidationError(f"第 {lineno} 行 类别", f"“{kind}”应为“休”或“班”")
        out.append(DayOverride(day, KIND_WORDS[kind], row[2].strip() if len(row) > 2 else ""))
    return out


def import_holidays(session: Session, actor: User | None, path: Path) -> int:
    access.require(actor, "holidays")
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gbk"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(str(path), "无法识别文件编码（应为 UTF-8 或 GBK）")
    entries = parse_holiday_csv(text)
    for e in entries:
        set_day(session, actor, e.day, e.is_workday, e.name, audit=False)
    record(session, actor, "import", "holiday", None, summary=f"导入节假日 {len(entries)} 天：{path.name}")
    return len(entries)


def set_day(session: Session, actor: User | None, day: date, is_workday: bool, name: str,
            *, audit: bool = True) -> None:
    access.require(actor, "holidays")
    row = session.get(Holiday, day)
    before = {"is_workday": row.is_workday, "name": row.name} if row else None
    if row is None:
        session.add(Holiday(day=day, is_workday=is_workday, name=name))
    else:
        row.is_workday, row.name = is_workday, name
    if audit:
        record(session, actor, "set", "holiday", None, summary=str(day), before=before,
               after={"is_workday": is_workday, "name": name})


def delete_day(session: Session, actor: User | None, day: date) -> None:
    access.require(actor, "holidays")
    row = session.get(Holiday, day)
    if row is not None:
        record(session, actor, "delete", "holiday", None, summary=str(day),
               before={"is_workday": row.is_workday, "name": row.name})
        session.delete(row)

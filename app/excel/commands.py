"""``kuaichu import-ledger`` and ``kuaichu export-ledger``.

import-ledger: exit 0 when every row it was asked to import was imported (duplicates of
demands already present count as present), 1 when any row was refused (the error report
is written), 2 when the file cannot be imported at all. The last line is always
``read=N imported=N duplicates=N errors=N``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.db import open_database
from app.errors import DomainError
from app.excel import exporter, importer
from app.excel.mapping import VALUE_KINDS, ImportMapping
from app.models import Demand, Village
from app.services.queries import DemandFilter
from app.services.rates import Period

MAX_LISTED = 20


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是 YYYY-MM-DD 格式的日期") from None


def _month(text: str) -> str:
    try:
        Period.month(text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"“{text}”不是 YYYY-MM 格式的月份") from None
    return text


def register(subparsers: Any) -> None:
    s = subparsers.add_parser("import-ledger", help="导入已有的 Excel/WPS/CSV 台账（全部成功才写入）")
    s.add_argument("file", type=Path, help=".xlsx、.xls 或 .csv（UTF-8 或 GBK）文件")
    s.add_argument("--sheet", action="append", metavar="NAME", help="只导入这个工作表（可重复；默认全部）")
    s.add_argument("--mapping", type=Path, metavar="FILE", help="列对应文件（JSON，可在导入向导中保存）")
    s.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    s.add_argument("--skip-invalid", action="store_true", help="导入正确的行，跳过有错误的行")
    s.add_argument("--strict", action="store_true", help="名录中没有的责任单位、类别、来源作为错误，不自动新建")
    s.add_argument("--report", type=Path, metavar="FILE.xlsx", help="问题清单的保存位置（有错误时默认写在台账文件旁）")
    s.add_argument("--user", help="以此用户的名义导入（默认：第一个管理员）")
    s.add_argument("--today", type=_date, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_import)

    s = subparsers.add_parser("export-ledger", help="按区台账格式导出 Excel；--per-village 导出一村一档")
    s.add_argument("--out", type=Path, required=True, metavar="FILE.xlsx")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--month", type=_month, help="YYYY-MM（按受理日期）")
    g.add_argument("--from", dest="from_", type=_date, metavar="D", help="受理日期起 YYYY-MM-DD")
    s.add_argument("--to", type=_date, metavar="D", help="受理日期止 YYYY-MM-DD")
    s.add_argument("--village", action="append", metavar="NAME", help="只导出这个村(社区)（可重复）")
    s.add_argument("--per-village", action="store_true", help="一村一档：每村一个工作表，另加汇总表")
    s.set_defaults(func=cmd_export)


# -- import -------------------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    from app.services import setup

    mapping = ImportMapping.load(args.mapping) if args.mapping else ImportMapping()
    options = importer.ImportOptions(sheets=args.sheet, mapping=mapping, skip_invalid=args.skip_invalid,
                                     strict=args.strict, today=args.today)
    db = open_database(args.db)
    actor = None
    if args.user:
        with db.read() as s:
            actor = setup.command_line_actor(s, args.user)
    try:
        result = importer.run(db, args.file, options, actor=actor, dry_run=args.dry_run)
    except importer.ImportProblem as exc:
        print(f"错误：{exc}", file=sys.stderr)
        print("read=0 imported=0 duplicates=0 errors=0")
        return 2
    _print_result(result)
    if result.issues and (args.report or result.errors):
        target = args.report or importer.default_report_path(args.file)
        try:
            result.report = importer.write_report(result, target)
            print(f"问题清单：{result.report}")
        except OSError as exc:
            print(f"无法保存问题清单 {target}：{exc}", file=sys.stderr)
    print(result.summary_line())
    return result.exit_code


def _print_result(result: importer.ImportResult) -> None:
    for s in result.sheets:
        cols = "，".join(f"{label}→{title}" for label, title in s.columns.items())
        print(f"工作表“{s.name}”：表头第 {s.header_row} 行，数据 {s.rows} 行；{cols}")
    for name, why in result.skipped_sheets:
        print(f"跳过工作表“{name}”：{why}")
    verb = "将" if result.dry_run or not result.written else "已"
    for u in result.unknowns:
        if u.action == "create":
            continue
        print(f"名录中没有的{u.kind_title}“{u.value}”（{u.rows} 行）：{u.action_title}")
    creating: dict[str, list[str]] = {}
    if result.written:
        creating = result.created
    else:
        for u in result.unknowns:
            if u.action == "create":
                creating.setdefault(u.kind, []).append(u.value)
    for kind, names in creating.items():
        print(f"{verb}新建{VALUE_KINDS.get(kind, kind)}：{'、'.join(names)}")
    shown = [i for i in result.issues if i.level == importer.ERROR][:MAX_LISTED]
    for i in shown:
        where = f"工作表“{i.sheet}”第 {i.row} 行" + (f" {i.column}" if i.column else "")
        value = f"“{i.value}”" if i.value else ""
        print(f"错误：{where} {value}{i.reason}", file=sys.stderr)
    errors = sum(1 for i in result.issues if i.level == importer.ERROR)
    if errors > len(shown):
        print(f"……另有 {errors - len(shown)} 条错误，见问题清单", file=sys.stderr)
    if result.dry_run:
        print("预检完成，未写入任何数据")
    elif not result.written:
        print("有错误，未写入任何数据（改正后重新导入，或用 --skip-invalid 只导入正确的行）")
    print(result.describe())


# -- export -------------------------------------------------------------------------------------------


def _period(session: Any, args: argparse.Namespace) -> Period | None:
    if args.month:
        return Period.month(args.month)
    if args.from_ or args.to:
        start = args.from_ or session.scalar(sa.select(sa.func.min(Demand.received_on))) or date.today()
        return Period(start, args.to or date.today())
    return None


def cmd_export(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".xlsx":
        raise DomainError(f"导出文件应以 .xlsx 结尾：{args.out}")
    if args.month and args.to:
        raise DomainError("--month 与 --to 不能同时使用：按月导出，或用 --from/--to 指定起止日期")
    db = open_database(args.db)
    with db.read() as s:
        period = _period(s, args)
        village_ids: list[int] = []
        for name in args.village or []:
            found = s.scalar(sa.select(Village.id).where(Village.name == name.strip()))
            if found is None:
                raise DomainError(f"没有村(社区)“{name}”")
            village_ids.append(found)
        if args.per_village and period is None:
            first = s.scalar(sa.select(sa.func.min(Demand.received_on))) or date.today()
            period = Period(first, max(first, date.today()))
    if args.per_village:
        assert period is not None
        result = exporter.export_villages(db, args.out, period, village_ids or None)
        print(f"工作表：{'、'.join(result.sheets)}")
    else:
        f = DemandFilter(village_ids=village_ids,
                         received_from=period.start if period else None,
                         received_to=period.end if period else None)
        result = exporter.export_ledger(db, args.out, f)
    print(result.describe())
    return 0

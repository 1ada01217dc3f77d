"""Command-line commands for the documents (registered by ``app.cli``)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import access, paths
from app.db import open_database
from app.errors import DomainError
from app.models import User

EXIT_NOT_ALL_ATTACHED = 1


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是 YYYY-MM-DD 格式的日期") from None


def register(sub: Any) -> None:
    s = sub.add_parser("dossier", help="生成一案一卷 PDF（或用 --fingerprint 显示当前数据指纹以核对纸质案卷）")
    s.add_argument("code", metavar="CASE_NO", help="案件编号")
    s.add_argument("--out", type=Path, help="输出 PDF 文件")
    s.add_argument("--fingerprint", action="store_true", help="显示该诉求当前的数据指纹（SHA-256）")
    s.set_defaults(func=cmd_dossier)

    s = sub.add_parser("dossiers", help="生成某月办结诉求的全部案卷到一个文件夹")
    s.add_argument("--month", required=True, help="YYYY-MM")
    s.add_argument("--out-dir", type=Path, required=True, help="输出文件夹（每件一个 案件编号.pdf）")
    s.set_defaults(func=cmd_dossiers)

    s = sub.add_parser("signoff-sheet", help="打印用的四方会签表 PDF（带案件编号二维码）")
    s.add_argument("code", metavar="CASE_NO", help="案件编号")
    s.add_argument("--out", type=Path, required=True, help="输出 PDF 文件")
    s.set_defaults(func=cmd_signoff_sheet)

    s = sub.add_parser("weekly-report", help="周报账 PDF（截至某周五的一周）")
    s.add_argument("--week-ending", type=_date, required=True, help="周末日期 YYYY-MM-DD（一般为周五）")
    s.add_argument("--out", type=Path, required=True, help="输出 PDF 文件")
    s.set_defaults(func=cmd_weekly_report)

    s = sub.add_parser("monthly-report", help="月度统计报表 PDF（--public 为脱敏的公示版）")
    s.add_argument("--month", required=True, help="YYYY-MM")
    s.add_argument("--public", action="store_true", help="公示版：姓名、电话脱敏")
    s.add_argument("--out", type=Path, required=True, help="输出 PDF 文件")
    s.set_defaults(func=cmd_monthly_report)

    s = sub.add_parser("attach-scan", help="按二维码把签字后的四方会签表扫描件（PDF/图片）归档到对应诉求")
    s.add_argument("files", metavar="FILE", nargs="+", type=Path, help="扫描件：PDF、PNG、JPG…")
    s.add_argument("--user", help="以该用户名义归档（默认：第一个有上传权限的用户）")
    s.set_defaults(func=cmd_attach_scan)


def _done(path: Path) -> int:
    print(f"已生成：{path}")
    return 0


def cmd_dossier(args: argparse.Namespace) -> int:
    from app.reports import dossier, fingerprint
    from app.services import demands

    if args.out is None and not args.fingerprint:
        raise DomainError("请用 --out 指定输出文件，或用 --fingerprint 显示数据指纹")
    db = open_database(args.db)
    if args.fingerprint:
        with db.read() as s:
            d = demands.get(s, args.code)
            print(f"{d.code} 数据指纹（SHA-256）：{fingerprint.grouped(fingerprint.fingerprint(s, d))}")
    if args.out is not None:
        return _done(dossier.make_dossier(db, args.code, args.out))
    return 0


def cmd_dossiers(args: argparse.Namespace) -> int:
    from app.reports import dossier
    from app.reports.monthly import parse_month

    parse_month(args.month)
    db = open_database(args.db)

    def progress(done: int, total: int, code: str) -> None:
        if code:
            print(f"[{done + 1}/{total}] {code}", file=sys.stderr)

    result = dossier.month_dossiers(db, args.month, args.out_dir, progress=progress)
    for code, reason in result.failed:
        print(f"失败：{code}：{reason}", file=sys.stderr)
    print(f"已生成 {len(result.written)} 件案卷到 {args.out_dir}" + (f"，失败 {len(result.failed)} 件" if result.failed else ""))
    return 1 if result.failed else 0


def cmd_signoff_sheet(args: argparse.Namespace) -> int:
    from app.reports.signoff_sheet import make_signoff_sheet

    return _done(make_signoff_sheet(open_database(args.db), args.code, args.out))


def cmd_weekly_report(args: argparse.Namespace) -> int:
    from app.reports.weekly import make_weekly_report

    if args.week_ending.weekday() != 4:
        print(f"注意：{args.week_ending} 不是星期五，按截至该日的七天统计", file=sys.stderr)
    return _done(make_weekly_report(open_database(args.db), args.week_ending, args.out))


def cmd_monthly_report(args: argparse.Namespace) -> int:
    from app.reports.monthly import make_monthly_report, parse_month

    parse_month(args.month)
    return _done(make_monthly_report(open_database(args.db), args.month, args.out, public=args.public))


def scan_actor(session: Session, username: str | None) -> User:
    """Who attaches the scans: the named user, else the first active user allowed to upload."""
    from app.services import setup

    if username:
        user = setup.command_line_actor(session, username)
        access.require(user, "attach")
        return user
    for user in session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id)):
        if access.can(user, "attach"):
            return user
    return setup.command_line_actor(session)


def cmd_attach_scan(args: argparse.Namespace) -> int:
    from app.reports.scans import attach_scans

    db = open_database(args.db)
    with db.read() as s:
        actor = scan_actor(s, args.user)
        if actor in s:
            s.expunge(actor)
    outcomes = attach_scans(db, actor, list(args.files), paths.attachments_dir(db.url))
    for o in outcomes:
        mark = "已归档" if o.attached else "未归档"
        print(f"{mark}\t{o.file}\t{o.message}", file=sys.stdout if o.attached else sys.stderr)
    attached = sum(1 for o in outcomes if o.attached)
    print(f"共 {len(outcomes)} 份：归档 {attached} 份，未归档 {len(outcomes) - attached} 份")
    return 0 if attached == len(outcomes) else EXIT_NOT_ALL_ATTACHED

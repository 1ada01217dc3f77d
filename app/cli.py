"""Command line: ``kuaichu [--db PATH_OR_URL] COMMAND``. With no command the desktop program opens."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import signal
import sys
from datetime import date
from pathlib import Path

from app import __version__, deadlines, paths
from app.db import Database, open_database
from app.errors import DomainError
from app.workcal import CalendarNotCovered

EXIT_ERROR = 2
EXIT_CALENDAR = 3
# Modules that add their own commands: each has register(subparsers), setting ``func`` on its parsers.
EXTENSIONS = ("app.reports.commands", "app.excel.commands")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是 YYYY-MM-DD 格式的日期") from None


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kuaichu", description="快处台账：群众诉求快处中心的诉求台账")
    p.add_argument("--db", help="SQLite 文件路径或 SQLAlchemy URL（默认：用户数据目录；也可用环境变量 KUAICHU_DB）")
    p.add_argument("--version", action="version", version=f"kuaichu {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("init", help="创建或升级数据库，载入默认类别、来源和时限规则")
    s.add_argument("--township", required=True, help="乡镇(街道)名称")
    s.add_argument("--code", required=True, help="9 位或 12 位行政区划代码")
    s.add_argument("--villages", type=Path, help="村(社区)清单：每行“名称[,代码[,网格1;网格2]]”")
    s.add_argument("--admin", default="admin", help="首个管理员用户名（默认 admin）")
    s.add_argument("--admin-password", help="首个管理员密码（不给则不创建）")

    s = sub.add_parser("demo", help="生成演示数据库（每个角色一个账号，密码均为 demo）")
    s.add_argument("--demands", type=int, default=3000)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--township", default="示范镇")
    s.add_argument("--today", type=_date, help=argparse.SUPPRESS)

    s = sub.add_parser("deadline", help="计算办理期限（最后一行为 YYYY-MM-DD）")
    s.add_argument("type", help="咨询/建议/求决/投诉/复办")
    s.add_argument("received", type=_date, help="受理日期 YYYY-MM-DD")
    s.add_argument("--rules", default="township", help="时限规则：township(本乡镇)/hotline(12345)/petition(信访)")

    s = sub.add_parser("stats", help="统计各项比率及其计数")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--month", help="YYYY-MM")
    g.add_argument("--from", dest="from_", type=_date)
    s.add_argument("--to", type=_date)
    s.add_argument("--by", choices=["village", "unit", "type", "category", "channel"])
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("list", help="列出诉求")
    s.add_argument("--status")
    s.add_argument("--type")
    s.add_argument("--village")
    s.add_argument("--overdue", action="store_true")
    s.add_argument("--from", dest="from_", type=_date)
    s.add_argument("--to", type=_date)
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("show", help="显示一件诉求及其全部经过")
    s.add_argument("code")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("holidays", help="节假日表：list / import FILE / coverage")
    hs = s.add_subparsers(dest="action", required=True)
    h = hs.add_parser("list")
    h.add_argument("--year", type=int)
    h = hs.add_parser("import")
    h.add_argument("file", type=Path)
    hs.add_parser("coverage")

    s = sub.add_parser("db", help="数据库：upgrade / check / backup")
    s.add_argument("action", choices=["upgrade", "check", "backup"])
    s.add_argument("--to", type=Path, help="backup：备份文件路径（默认：数据库旁的 <名称>-backups/ 目录）")

    s = sub.add_parser("screenshots", help="离屏渲染各主要界面为 PNG（登录、工作台、受理登记、台账、详情、一村一档、预警督办、设置）")
    s.add_argument("dir", type=Path)

    s = sub.add_parser("user", help="用户：add")
    us = s.add_subparsers(dest="action", required=True)
    u = us.add_parser("add")
    u.add_argument("username")
    u.add_argument("--name", default="")
    u.add_argument("--roles", required=True, help="逗号分隔：登记员,办理人,分管领导,主要领导,督办,管理员")
    u.add_argument("--password", required=True)
    for module in EXTENSIONS:
        if _module_exists(module):
            importlib.import_module(module).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `kuaichu list | head` ends quietly
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if args.command is None:
        from app.gui import run_gui

        return run_gui(args.db)
    try:
        handler = COMMANDS.get(args.command) or args.func
        return handler(args)
    except CalendarNotCovered as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_CALENDAR
    except DomainError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR


# -- commands ------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from app.services import setup

    db = open_database(args.db)
    villages = []
    if args.villages:
        villages = setup.parse_villages(args.villages.read_text(encoding="utf-8-sig"))
    with db.write() as s:
        town = setup.init_township(s, args.township, args.code, villages)
        if args.admin_password:
            from app.vocab import Role

            setup.add_user(s, None, args.admin, "管理员", [Role.ADMIN], args.admin_password, check=False)
        n = len(town.villages)
    print(f"已初始化：{args.township}（{args.code}），村(社区) {n} 个；数据库 {paths.display_url(db.url)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.services.demo import DemoSpec, generate

    url = paths.database_url(args.db)
    db_file = paths.sqlite_path(url)
    if db_file is not None and db_file.exists() and db_file.stat().st_size > 0:
        print(f"错误：{db_file} 已存在；演示数据只写入新的数据库文件", file=sys.stderr)
        return EXIT_ERROR
    db = open_database(args.db)
    summary = generate(db, DemoSpec(demands=args.demands, seed=args.seed, township=args.township,
                                    today=args.today or date.today()))
    print(summary)
    print(f"数据库：{paths.display_url(db.url)}")
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    from app.services import settings
    from app.services.calendar import load_calendar
    from app.vocab import RuleSet

    db = open_database(args.db)
    with db.read() as s:
        cal = load_calendar(s)
        rules = settings.get(s, "deadline_rules")
    if not cal.covers(args.received.year):
        raise CalendarNotCovered(args.received.year)
    try:
        kind = deadlines.rule_key(args.type)
        rule_set = RuleSet.from_label(args.rules).value
    except ValueError as exc:
        raise DomainError(f"未知的诉求类型或规则：{exc}（类型应为 咨询/建议/求决/投诉/复办）") from None
    rule = deadlines.rule_for(rules, rule_set, kind)
    due = deadlines.add(cal, rule, args.received)
    print(f"{args.type}，{rule.label}，受理日期 {args.received}（当天不计）")
    if due.provisional:
        print(f"注意：期限落在节假日数据未覆盖的年份，按周一至周五暂定（{due.due}）", file=sys.stderr)
    print(due.due.isoformat())
    return 0


def _period(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from app.services.rates import Period

    if args.month:
        return Period.month(args.month)
    if args.from_:
        return Period(args.from_, args.to or date.today())
    today = date.today()
    return Period.month(f"{today.year}-{today.month:02d}")


def cmd_stats(args: argparse.Namespace) -> int:
    from app.services import rates

    period = _period(args)
    db = open_database(args.db)
    with db.read() as s:
        table = rates.stats(s, period, args.by)
    if args.json:
        print(json.dumps({"period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
                          "by": args.by, "definitions": rates.DEFINITIONS,
                          "rows": [r.as_dict() for r in table]}, ensure_ascii=False))
        return 0
    print(f"统计期：{period.label}" + (f"；分组：{rates.GROUP_TITLES[args.by]}" if args.by else ""))
    head = ["分组", "受理", "有效"] + [title for title, _ in rates.RATES.values()]
    print("\t".join(head))
    for r in table:
        cells = [r.label, str(r.received), str(r.valid)]
        cells += [f"{ratio.percent()}({ratio.numerator}/{ratio.denominator})" for ratio in r.rates.values()]
        print("\t".join(cells))
    print("口径：")
    for text in rates.DEFINITIONS.values():
        print(f"  {text}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from app.models import Village
    from app.services import queries
    from app.vocab import DemandType, Status

    f = queries.DemandFilter(overdue=args.overdue, received_from=args.from_, received_to=args.to)
    try:
        if args.status:
            f.statuses = [Status.from_label(args.status)]
        if args.type:
            f.types = [DemandType.from_label(args.type)]
    except ValueError as exc:
        raise DomainError(f"未知的状态或类型：{exc}") from None
    db = open_database(args.db)
    with db.read() as s:
        if args.village:
            ids = list(s.scalars(sa.select(Village.id).where(Village.name == args.village)))
            if not ids:
                raise DomainError(f"没有村(社区)“{args.village}”")
            f.village_ids = ids
        total = queries.count(s, f)
        rows = queries.rows(s, f, limit=args.limit)
    for r in rows:
        if args.json:
            print(json.dumps(r.as_json(), ensure_ascii=False))
        else:
            left = "" if r.remaining is None else f"剩余{r.remaining}"
            print("\t".join([r.code, str(r.received), r.status, r.type, r.village, r.unit,
                             str(r.deadline or ""), left, r.petitioner, r.content[:30]]))
    if not args.json:
        print(f"共 {total} 件，显示 {len(rows)} 件")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from app.services import demands, queries

    db = open_database(args.db)
    with db.read() as s:
        d = demands.get(s, args.code)
        row = queries.rows_by_ids(s, [d.id])[0]
        events = queries.story(s, d)
        co_units = [u.name for u in d.co_units]
        extra = {"grid": d.grid.name if d.grid else "", "rule_set": d.rule_set, "external_ref": d.external_ref,
                 "level": d.level.label if d.level else "", "co_units": co_units, "remarks": d.remarks,
                 "result": d.result_summary, "original_no": d.original_no, "version": d.version}
    if args.json:
        out = row.as_json() | extra | {"address": row.address, "history": [
            {"at": e.at.isoformat(sep=" "), "kind": e.kind, "text": e.text, "who": e.who} for e in events]}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{row.code}  {row.status}  {row.type}  {row.category}")
    print(f"反映人：{row.petitioner}  电话：{row.phone}  住址：{row.address}")
    print(f"村(社区)：{row.village}  网格：{extra['grid']}  来源：{row.channel}")
    print(f"责任单位：{row.unit}（{extra['level']}）" + (f"  协办：{'、'.join(co_units)}" if co_units else ""))
    prov = "（暂定）" if row.provisional else ""
    print(f"受理：{row.received}  期限：{row.deadline}{prov}  {row.clock}"
          + (f" 剩余 {row.remaining} 个工作日" if row.remaining is not None else ""))
    print(f"内容：{row.content}")
    print("经过：")
    for e in events:
        print(f"  {e.at:%Y-%m-%d %H:%M}  {e.kind}  {e.text}  —— {e.who}")
    return 0


def cmd_holidays(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from app.models import Holiday
    from app.services import calendar, setup

    db = open_database(args.db)
    if args.action == "import":
        with db.write() as s:
            n = calendar.import_holidays(s, setup.command_line_actor(s), args.file)
        print(f"已导入 {n} 天")
        return 0
    with db.read() as s:
        if args.action == "list":
            q = sa.select(Holiday).order_by(Holiday.day)
            if args.year:
                q = q.where(Holiday.day.between(date(args.year, 1, 1), date(args.year, 12, 31)))
            for h in s.scalars(q):
                print(f"{h.day}\t{'班' if h.is_workday else '休'}\t{h.name}")
            return 0
        cov = calendar.coverage(s)
    print(f"内置数据覆盖：{cov.builtin.start}–{cov.builtin.stop - 1} 年")
    print(f"节假日表录入的年份：{'、'.join(map(str, cov.table_years)) or '无'}")
    if cov.missing:
        print(f"警告：{cov.warning()}")
        return 1
    print("今年和明年均已覆盖")
    if cov.thin:
        print(f"注意：{cov.warning()}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    db = Database(paths.database_url(args.db))
    if args.action == "upgrade":
        backup = db.upgrade()
        print(f"数据库结构已是最新版本 {db.head_revision()}" + (f"；升级前备份：{backup}" if backup else ""))
        return 0
    if args.action == "backup":
        from datetime import datetime as _dt

        db_file = paths.sqlite_path(db.url)
        if db_file is None:
            raise DomainError("只有 SQLite 数据库可以由本程序备份；PostgreSQL 请用 pg_dump")
        target = args.to or paths.backups_dir(db.url) / f"{db_file.stem}-{_dt.now():%Y%m%d-%H%M%S}{db_file.suffix}"
        print(f"已备份到 {db.backup_to(target)}")
        return 0
    problems = db.check()
    for p in problems:
        print(f"问题：{p}", file=sys.stderr)
    if not problems:
        print(f"正常：结构版本 {db.current_revision()}，完整性检查通过")
    return 1 if problems else 0


def cmd_user(args: argparse.Namespace) -> int:
    from app.services import setup
    from app.vocab import Role

    try:
        roles = [Role.from_label(r) for r in args.roles.replace("，", ",").split(",") if r.strip()]
    except ValueError as exc:
        raise DomainError(f"未知角色：{exc}") from None
    db = open_database(args.db)
    with db.write() as s:
        actor = setup.command_line_actor(s)
        user = setup.add_user(s, actor, args.username, args.name, roles, args.password)
    print(f"已创建用户 {user.username}")
    return 0


def cmd_screenshots(args: argparse.Namespace) -> int:
    from app.views.screenshots import render_screenshots

    for path in render_screenshots(args.db, args.dir):
        print(path)
    return 0


COMMANDS = {
    "init": cmd_init, "demo": cmd_demo, "deadline": cmd_deadline, "stats": cmd_stats, "list": cmd_list,
    "show": cmd_show, "holidays": cmd_holidays, "db": cmd_db, "user": cmd_user,
    "screenshots": cmd_screenshots,
}

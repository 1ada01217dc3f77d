"""Excel figures: importing a 50,000-row ledger, exporting 200,000 rows; time and peak memory.

Run: python bench/bench_excel.py [--import-rows 50000] [--export-rows 200000] [--dir DIR]

Each measurement runs in its own process, so its peak resident memory (ru_maxrss) is its
own; the line also shows the process's memory just before the measured step began.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

VILLAGES = ["柳树社区", "石城社区", "回风社区", "兴文村", "清江村", "白庙村", "双河村", "三江村", "龙背村", "梓潼村",
            "凤凰村", "新华村", "花溪村", "金山村", "玉堂村", "大和村"]
TYPES = ["求决类", "意见建议类", "咨询", "投诉", "求助", "建议"]
CATEGORIES = [("城市管理", "市政", "路灯照明"), ("城市管理", "市容环境", "垃圾清运"), ("社区治理", "邻里纠纷", "相邻关系"),
              ("公共服务", "医疗卫生", "医保报销"), ("政策兑现", "民政救助", "低保"), ("城乡建设", "农村建设", "村道硬化"),
              ("道路交通", "道路设施", "道路破损")]
CHANNELS = ["入户走访问", "来电", "来访", "网格员上报", "扫码线上采", "信箱收"]
UNITS = ["{v}委会", "示范镇规划建设办", "示范镇社会事务办", "区住建局", "区交通运输局"]
PROBLEMS = ["路灯损坏夜间出行不便", "生活垃圾清运不及时", "邻居违规搭建影响通行", "医保报销流程不清楚", "低保申请材料咨询",
            "村道坑洼需要硬化", "道路破损积水", "饮水管道破裂", "排水沟堵塞", "噪声扰民"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_db(path: Path):  # type: ignore[no-untyped-def]
    from app.db import Database
    from app.services import setup
    from app.vocab import Role

    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.write() as s:
        setup.init_township(s, "示范镇", "511902104", [setup.VillageSpec(v) for v in VILLAGES])
        setup.add_user(s, None, "admin", "管理员", [Role.ADMIN], "secret", check=False)
    return db


def write_ledger(path: Path, rows: int, seed: int = 1) -> None:
    """A ledger as centers keep it: a title row, the header, mixed date and phone formats."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    ws = book.create_sheet("台账")
    ws.append(["示范镇群众诉求排查台账"])
    ws.append(["序号", "反映人", "住址", "联系电话", "诉求类型", "一级类别", "二级类别", "三级类别", "诉求来源",
               "反映问题", "责任单位", "备注", "登记日期"])
    start = date(2022, 1, 1)
    surnames, given = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗", "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
    for i in range(1, rows + 1):
        village = rng.choice(VILLAGES)
        day = start + timedelta(days=rng.randrange(0, 3 * 365))
        phone = f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}"
        phone = rng.choice([phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"])
        when = rng.choice([day.isoformat(), f"{day.year}.{day.month}.{day.day}", f"{day.year}年{day.month}月{day.day}日",
                           (day - date(1899, 12, 30)).days])
        c1, c2, c3 = rng.choice(CATEGORIES)
        unit = rng.choice(UNITS).format(v=village)
        ws.append([i, rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2)))),
                   f"{village}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号", phone, rng.choice(TYPES), c1, c2, c3,
                   rng.choice(CHANNELS), f"反映{village}{rng.choice(PROBLEMS)}（第{i}号）", unit, "", when])
    ws.append(["合计", None, None, None, None, None, None, None, None, f"{rows} 件"])
    book.save(path)


def phase_import(base: Path, rows: int) -> None:
    from app.excel import importer

    ledger = base / f"ledger-{rows}.xlsx"
    t0 = time.perf_counter()
    write_ledger(ledger, rows)
    print(f"ledger file written: {rows} rows, {ledger.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s")
    db = make_db(base / "import.sqlite")
    before = rss_mb()
    t0 = time.perf_counter()
    analysis = importer.analyse(ledger)
    t_read = time.perf_counter() - t0
    dry = importer.run(db, ledger, dry_run=True, analysis=analysis)
    t_check = time.perf_counter() - t0 - t_read
    result = importer.run(db, ledger, analysis=analysis)
    total = time.perf_counter() - t0
    print(f"import {rows} rows: read {t_read:.1f} s, dry run {t_check:.1f} s, import {total - t_read - t_check:.1f} s "
          f"(total {total:.1f} s, {rows / (total - t_read - t_check):.0f} rows/s); {result.summary_line()}; "
          f"dry run to_import={dry.to_import}")
    print(f"import peak RSS: {rss_mb():.0f} MB (before: {before:.0f} MB)")
    db.dispose()


def phase_prepare(base: Path, rows: int) -> None:
    """The demo database the export reads, made in a process of its own (its memory is not the export's)."""
    from app.db import Database
    from app.services.demo import DemoSpec, generate

    path = base / f"export-{rows}.sqlite"
    if path.exists():
        return
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    t0 = time.perf_counter()
    generate(db, DemoSpec(demands=rows, seed=1))
    print(f"demo database of {rows} demands generated in {time.perf_counter() - t0:.1f} s")
    db.dispose()


def phase_export(base: Path, rows: int) -> None:
    from app.db import Database
    from app.excel import exporter

    db = Database(f"sqlite:///{base / f'export-{rows}.sqlite'}")
    before = rss_mb()
    calls = [0]

    def progress(done: int, total: int, text: str) -> None:
        calls[0] += 1

    out = base / f"export-{rows}.xlsx"
    t0 = time.perf_counter()
    result = exporter.export_ledger(db, out, progress=progress)
    elapsed = time.perf_counter() - t0
    print(f"export {result.rows} rows (district layout): {elapsed:.1f} s ({result.rows / elapsed:.0f} rows/s), "
          f"{out.stat().st_size / 1e6:.1f} MB, {calls[0]} progress calls")
    print(f"export peak RSS: {rss_mb():.0f} MB (before: {before:.0f} MB)")
    from app.services.rates import Period

    t0 = time.perf_counter()
    result = exporter.export_villages(db, base / f"villages-{rows}.xlsx", Period(date(2000, 1, 1), date.today()))
    print(f"一村一档 workbook, {len(result.sheets)} sheets, {result.rows} rows: {time.perf_counter() - t0:.1f} s; "
          f"peak RSS {rss_mb():.0f} MB")
    from app.services.queries import DemandFilter

    t0 = time.perf_counter()
    result = exporter.export_view(db, base / f"view-{rows}.xlsx", DemandFilter(),
                                  ["code", "received", "petitioner", "village", "type", "category", "content", "unit",
                                   "status", "remaining", "satisfaction"])
    print(f"ledger view, {result.rows} rows, 11 columns: {time.perf_counter() - t0:.1f} s; peak RSS {rss_mb():.0f} MB")
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--import-rows", type=int, default=50_000)
    ap.add_argument("--export-rows", type=int, default=200_000)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--phase", choices=["import", "prepare", "export"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="kuaichu-bench-excel-"))
    base.mkdir(parents=True, exist_ok=True)
    if args.phase == "import":
        phase_import(base, args.import_rows)
        return
    if args.phase == "prepare":
        phase_prepare(base, args.export_rows)
        return
    if args.phase == "export":
        phase_export(base, args.export_rows)
        return
    print(f"working directory: {base}")
    for phase in ("import", "prepare", "export"):
        subprocess.run([sys.executable, __file__, "--phase", phase, "--dir", str(base),
                        "--import-rows", str(args.import_rows), "--export-rows", str(args.export_rows)], check=True)


if __name__ == "__main__":
    main()

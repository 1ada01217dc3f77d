"""Excel in and out: reading real-world ledger shapes, the import rules, the exports, the commands.

Every fixture file is built here, in the shape centers actually have: title rows and
stray lines above the header, a two-row merged header, several sheets, an old .xls, a
GBK-encoded CSV, Excel serial dates and text dates, phones with blanks and dashes, blank
rows and a 合计 row at the end.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
import xlwt

from app.cli import main as cli_main
from app.db import Database
from app.excel import exporter, importer, mapping, reader
from app.excel.cells import Cancelled
from app.excel.importer import ImportOptions
from app.excel.mapping import ImportMapping, ValueChoice
from app.models import Category, Channel, Demand, Petitioner, Unit, User, Village
from app.services import demands, queries, rates, setup
from app.services.setup import VillageSpec
from app.vocab import DemandType, Level, Role

TOWN = "示范镇"
TOWN_CODE = "511902001"
VILLAGES = [VillageSpec("柳树村", "", ["一组网格"]), VillageSpec("河东社区", "", []), VillageSpec("青山村", "", [])]


# -- fixtures ------------------------------------------------------------------------------------


@dataclass
class Env:
    db: Database
    path: Path
    admin: User
    registrar: User
    villages: dict[str, int]


def make_env(path: Path) -> Env:
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.write() as s:
        town = setup.init_township(s, TOWN, TOWN_CODE, VILLAGES)
        setup.ensure_unit(s, "示范镇综合行政执法办公室", Level.TOWNSHIP)
        setup.ensure_unit(s, "巴州区住房和城乡建设局", Level.DISTRICT)
        admin = setup.add_user(s, None, "admin", "周管理", [Role.ADMIN], "secret", check=False)
        registrar = setup.add_user(s, None, "dengji", "王登记", [Role.REGISTRAR], "secret", check=False)
        setup.add_user(s, None, "quanneng", "吴全能", list(Role), "secret", check=False)
        villages = {v.name: v.id for v in town.villages}
    return Env(db, path, admin, registrar, villages)


@pytest.fixture
def env(tmp_path: Path):
    e = make_env(tmp_path / "excel.sqlite")
    yield e
    e.db.dispose()


@pytest.fixture
def empty_env(tmp_path: Path):
    """A second township database with the same villages and nothing else in it."""
    e = make_env(tmp_path / "empty.sqlite")
    yield e
    e.db.dispose()


def count_demands(db: Database) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count(Demand.id))) or 0


def demand_rows(db: Database) -> list[dict[str, Any]]:
    """Every demand as the district ledger shows it, in a comparable form."""
    with db.read() as s:
        paths = queries.category_paths(s)
        q = (sa.select(Demand, Petitioner.name, Petitioner.phone, Petitioner.address, Village.name, Unit.name,
                       Channel.name)
             .outerjoin(Petitioner, Petitioner.id == Demand.petitioner_id)
             .outerjoin(Village, Village.id == Demand.village_id)
             .outerjoin(Unit, Unit.id == Demand.unit_id)
             .outerjoin(Channel, Channel.id == Demand.channel_id)
             .order_by(Demand.received_on, Demand.content))
        out = []
        for d, name, phone, address, village, unit, channel in s.execute(q):
            out.append({"received": d.received_on, "type": d.type, "content": d.content, "name": name or "",
                        "phone": phone or "", "address": address or "", "village": village or "",
                        "unit": unit or "", "channel": channel or "", "remarks": d.remarks,
                        "category": paths.get(d.category_id, "") if d.category_id else "",
                        "code": d.code, "original_no": d.original_no})
        return out


def run_import(env: Env, path: Path, **opts: Any) -> importer.ImportResult:
    dry_run = opts.pop("dry_run", False)
    return importer.run(env.db, path, ImportOptions(**opts), actor=env.registrar, dry_run=dry_run)


# -- fixture files, one per real-world shape --------------------------------------------------------------


HEADER_TITLES = ["序号", "诉求人", "联系电话", "家庭住址", "类型", "反映问题", "登记日期", "来源", "承办单位", "备注"]


def title_rows_book(path: Path) -> Path:
    """Title and stray lines above the header, mixed dates and phones, blank rows, 合计 and a footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2022年台账"
    ws.append(["示范镇群众诉求排查台账（2022年）"])
    ws.merge_cells("A1:J1")
    ws.append(["填报单位：示范镇快处中心", None, None, None, None, None, "填报时间：2022年6月"])
    ws.append([])
    ws.append(HEADER_TITLES)
    rows = [
        [1, "张三", "138 0013 8000", "柳树村3组12号", "求决类", "村道路灯损坏，夜间出行不便", 44684, "入户走访",
         "柳树村委会", ""],
        [2, "李四", "139-0013-9000", "示范镇河东社区2栋", "意见建议类", "建议增设垃圾分类投放点", "2022.5.3", "来电",
         "示范镇综合行政执法办公室", "已答复"],
        [None, None, None, None, None, None, None, None, None, None],
        [3, "王五", "0827-5212345", "青山村1组", "咨询", "咨询低保申请条件", "2022年5月3日", "来访", "", ""],
        [4, "赵六", "13800138001", "青山村5组", "求助", "房屋漏雨希望危房改造", "2022/5/3", "网格员上报",
         "青山村委会", ""],
        [5, "钱七", 13800138002, "柳树村2组", "投诉", "反映办事窗口推诿", datetime(2022, 5, 4, 9, 30), "信访",
         "示范镇人民政府", ""],
        [6, "孙八", "13800138003", "柳树村6组", "求决", "饮水管道破裂", "2022-05-03", "扫码", "柳树村委会", ""],
    ]
    for r in rows:
        ws.append(r)
    ws.append([])
    ws.append(["合计", None, None, None, None, "6 件"])
    ws.append(["填表人：张登记", None, None, None, None, None, "审核人：李主任"])
    wb.save(path)
    return path


MERGED_TOP = ["序号", "反映人", "住址", "联系方式", "诉求类型", "诉求类别", None, None, "诉求来源", "诉求内容", "责任单位",
              "备注"]
MERGED_SUB = [None, None, None, None, None, "一级", "二级", "三级", None, None, None, None]


def merged_header_book(path: Path) -> Path:
    """The district's own layout: 诉求类别 merged over 一级/二级/三级, the other titles merged down."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "排查台账"
    ws.append(["示范镇群众诉求排查台账"])
    ws.merge_cells("A1:L1")
    ws.append(MERGED_TOP)
    ws.append(MERGED_SUB)
    for col in "ABCDEIJKL":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("F2:H2")
    ws.append([1, "周九", "柳树村4组", "13800138004", "求决", "城市管理", "市政", "路灯照明", "入户走访问",
               "路灯不亮", "柳树村委会", ""])
    ws.append([2, "吴十", "河东社区1栋", "13800138005", "建议", "社区治理", "物业管理", "停车管理", "群众提(坝坝会/座谈)",
               "小区停车位不足", "", ""])
    ws.cell(row=4, column=13, value=None)
    ws["M2"] = "受理日期"
    ws.merge_cells("M2:M3")
    ws["M4"] = date(2023, 3, 1)
    ws["M5"] = "2023-03-02"
    wb.save(path)
    return path


def several_sheets_book(path: Path) -> Path:
    """One sheet per village (no village column, the sheet name tells), plus an explanation sheet."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "柳树村"
    second = wb.create_sheet("河东社区")
    notes = wb.create_sheet("说明")
    head = ["序号", "姓名", "电话", "地址", "诉求类型", "诉求内容", "日期"]
    first.append(head)
    first.append([1, "甲一", "13800138011", "3组", "求决", "沟渠堵塞", "2024-04-01"])
    first.append([2, "甲二", "13800138012", "4组", "建议", "建议修建文化广场", "2024-04-02"])
    second.append(["河东社区诉求台账"])
    second.append(head)
    second.append([1, "乙一", "13800138013", "2栋", "咨询", "咨询医保报销", "2024-04-03"])
    notes.append(["本台账由快处中心整理，各村每月报送。"])
    wb.save(path)
    return path


def xls_book(path: Path) -> Path:
    """An old-format .xls with a merged two-row header and date cells."""
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("台账")
    ws.write_merge(0, 0, 0, 8, "示范镇诉求台账")
    titles = ["序号", "反映人", "联系方式", "住址", "诉求类型", "诉求内容", "受理时间"]
    for c, title in enumerate(titles):
        ws.write_merge(1, 2, c, c, title)
    ws.write_merge(1, 1, 7, 8, "诉求类别")
    ws.write(2, 7, "一级")
    ws.write(2, 8, "二级")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    data = [
        [1, "冯一", "138 0013 8021", "柳树村1组", "求决类", "自来水水压低", date(2021, 9, 1), "公共服务", "供水供电供气"],
        [2, "陈二", "13800138022", "青山村2组", "建议", "建议增开公交班次", 44440, "道路交通", "公共交通"],
    ]
    for r, row in enumerate(data, start=3):
        for c, value in enumerate(row):
            if isinstance(value, date):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    book.save(str(path))
    return path


def gbk_csv(path: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["反映人", "联系电话", "住址", "诉求类型", "诉求内容", "受理时间", "所属村"])
    w.writerow(["褚一", "138-0013-8031", "1组", "求决", "排水沟堵塞需要疏通", "2022年5月3日", "柳树"])
    w.writerow(["卫二", "", "青山村3组", "咨询类", "咨询养老保险缴费", "2022/5/4", ""])
    w.writerow(["", "", "", "", "", "", ""])
    w.writerow(["合计", "", "", "", "2 件", "", ""])
    path.write_bytes(buf.getvalue().encode("gbk"))
    return path


def simple_book(path: Path, rows: list[list[Any]], head: list[str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(head or ["反映人", "联系方式", "住址", "诉求类型", "诉求内容", "受理日期", "责任单位"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


GOOD_ROWS = [
    ["甲", "13800138041", "柳树村1组", "求决", "路面坑洼", "2024-05-06", "柳树村委会"],
    ["乙", "13800138042", "柳树村2组", "建议", "建议安装健身器材", "2024-05-07", ""],
    ["丙", "13800138043", "青山村1组", "咨询", "咨询危房改造政策", "2024-05-08", ""],
]
BAD_ROW = ["丁", "1380013", "青山村2组", "求决", "电线老化", "2024-05-09", ""]


# -- reading -------------------------------------------------------------------------------------------


def test_header_found_below_title_rows(tmp_path: Path) -> None:
    sheet = reader.read(title_rows_book(tmp_path / "a.xlsx"))[0]
    header = mapping.detect_header(sheet)
    assert header is not None and header.excel_row == 4 and header.height == 1
    cols = mapping.propose(header.labels)
    assert {cols[i] for i in cols} >= {"name", "phone", "address", "type", "content", "received", "channel", "unit"}


def test_merged_two_row_header_is_folded(tmp_path: Path) -> None:
    sheet = reader.read(merged_header_book(tmp_path / "m.xlsx"))[0]
    header = mapping.detect_header(sheet)
    assert header is not None and header.excel_row == 2 and header.height == 2
    assert header.labels[5:8] == ["诉求类别一级", "诉求类别二级", "诉求类别三级"]
    assert header.labels[0] == "序号" and header.labels[12] == "受理日期"
    cols = mapping.propose(header.labels)
    assert [cols[5], cols[6], cols[7]] == ["category1", "category2", "category3"]


def test_xls_with_merged_header(tmp_path: Path) -> None:
    sheet = reader.read(xls_book(tmp_path / "old.xls"))[0]
    header = mapping.detect_header(sheet)
    assert header is not None and header.height == 2 and header.excel_row == 2
    assert header.labels[7:9] == ["诉求类别一级", "诉求类别二级"]


def test_gbk_csv_is_decoded(tmp_path: Path) -> None:
    sheet = reader.read(gbk_csv(tmp_path / "g.csv"))[0]
    assert sheet.rows[1][0] == "褚一" and sheet.rows[1][5] == "2022年5月3日"


def test_synonyms() -> None:
    assert mapping.field_for("诉求人") == "name"
    assert mapping.field_for("姓名") == "name"
    assert mapping.field_for("联系电话（手机）") == "phone"
    assert mapping.field_for("具体诉求") == "content"
    assert mapping.field_for("登记日期") == "received"
    assert mapping.field_for("一级类别") == "category1"
    assert mapping.field_for("是否重复诉求") is None  # a general word inside a title is not enough
    # An exact title wins over a title that only contains a known word.
    assert mapping.propose(["反映人姓名及电话备注", "反映人"]) == {1: "name"}


@pytest.mark.parametrize("value", ["2022-05-03", "2022.5.3", "2022年5月3日", "2022/5/3", 44684, 44684.0, "44684",
                                   datetime(2022, 5, 3, 10, 0), date(2022, 5, 3), "2022-05-03 08:30:00"])
def test_dates(value: Any) -> None:
    assert importer.parse_date(value) == date(2022, 5, 3)


@pytest.mark.parametrize("value", ["2022-13-01", "五月三日", "", "2022年5月"])
def test_bad_dates(value: Any) -> None:
    with pytest.raises(ValueError):
        importer.parse_date(value)


@pytest.mark.parametrize(("text", "expected"), [("意见建议类", DemandType.SUGGEST), ("建议类", DemandType.SUGGEST),
                                                ("求决", DemandType.SOLVE), ("求助", DemandType.SOLVE),
                                                ("咨询类", DemandType.CONSULT), ("投诉举报", DemandType.COMPLAIN),
                                                ("求决类问题", DemandType.SOLVE)])
def test_types(text: str, expected: DemandType) -> None:
    assert importer.parse_type(text) is expected


# -- importing each shape ---------------------------------------------------------------------------------


def test_import_title_rows_file(env: Env, tmp_path: Path) -> None:
    result = run_import(env, title_rows_book(tmp_path / "a.xlsx"))
    assert (result.read, result.imported, result.duplicates, result.errors) == (6, 6, 0, 0)
    rows = {r["name"]: r for r in demand_rows(env.db)}
    assert set(rows) == {"张三", "李四", "王五", "赵六", "钱七", "孙八"}
    assert rows["张三"]["phone"] == "13800138000" and rows["李四"]["phone"] == "13900139000"
    assert rows["王五"]["phone"] == "08275212345"
    assert rows["钱七"]["phone"] == "13800138002"  # a number cell stays the same digits
    assert {r["received"] for n, r in rows.items() if n != "钱七"} == {date(2022, 5, 3)}
    assert rows["钱七"]["received"] == date(2022, 5, 4)
    assert rows["张三"]["village"] == "柳树村" and rows["李四"]["village"] == "河东社区"  # after the township's name
    assert rows["李四"]["type"] is DemandType.SUGGEST and rows["赵六"]["type"] is DemandType.SOLVE
    assert rows["张三"]["channel"] == "入户走访问" and rows["孙八"]["channel"] == "扫码线上采"
    assert rows["张三"]["unit"] == "柳树村委会" and rows["李四"]["unit"] == "示范镇综合行政执法办公室"
    assert rows["张三"]["original_no"] == "1"


def test_import_merged_header_matches_category_tree(env: Env, tmp_path: Path) -> None:
    result = run_import(env, merged_header_book(tmp_path / "m.xlsx"))
    assert (result.imported, result.errors) == (2, 0)
    rows = {r["name"]: r for r in demand_rows(env.db)}
    assert rows["周九"]["category"] == "城市管理 › 市政 › 路灯照明"
    assert rows["吴十"]["category"] == "社区治理 › 物业管理 › 停车管理"
    assert rows["吴十"]["channel"] == "群众提(坝坝会/座谈)"
    assert not result.created


def test_import_several_sheets(env: Env, tmp_path: Path) -> None:
    result = run_import(env, several_sheets_book(tmp_path / "s.xlsx"))
    assert result.imported == 3
    assert [name for name, _ in result.skipped_sheets] == ["说明"]
    rows = {r["name"]: r for r in demand_rows(env.db)}
    assert rows["甲一"]["village"] == "柳树村" and rows["乙一"]["village"] == "河东社区"
    assert rows["甲一"]["original_no"] == "柳树村-1"  # 序号 of one sheet among several
    only = run_import(env, several_sheets_book(tmp_path / "s2.xlsx"), sheets=["河东社区"], dry_run=True)
    assert only.read == 1


def test_import_xls(env: Env, tmp_path: Path) -> None:
    result = run_import(env, xls_book(tmp_path / "old.xls"))
    assert (result.imported, result.errors) == (2, 0)
    rows = {r["name"]: r for r in demand_rows(env.db)}
    assert rows["冯一"]["received"] == date(2021, 9, 1) and rows["冯一"]["phone"] == "13800138021"
    assert rows["陈二"]["received"] == date(2021, 9, 1)  # the serial number 44440
    assert rows["冯一"]["category"] == "公共服务 › 供水供电供气"


def test_import_gbk_csv(env: Env, tmp_path: Path) -> None:
    result = run_import(env, gbk_csv(tmp_path / "g.csv"))
    assert (result.read, result.imported, result.errors) == (2, 2, 0)
    rows = {r["name"]: r for r in demand_rows(env.db)}
    assert rows["褚一"]["village"] == "柳树村"  # "柳树" in the village column
    assert rows["褚一"]["received"] == date(2022, 5, 3) and rows["褚一"]["phone"] == "13800138031"
    assert rows["卫二"]["village"] == "青山村" and rows["卫二"]["phone"] == ""


def test_history_starts_with_the_import(env: Env, tmp_path: Path) -> None:
    path = title_rows_book(tmp_path / "a.xlsx")
    run_import(env, path)
    with env.db.read() as s:
        d = s.scalars(sa.select(Demand).join(Petitioner).where(Petitioner.name == "张三")).one()
        events = queries.story(s, d)
        assert d.code.startswith(TOWN_CODE) and d.original_no == "1"
        assert d.registrar_id == env.registrar.id
        imported = [e for e in events if e.kind == "导入"]
        assert len(imported) == 1
        assert "a.xlsx" in imported[0].text and "2022年台账" in imported[0].text and "第 5 行" in imported[0].text
        assert events[0].kind in ("受理登记", "导入") and events.index(imported[0]) <= 1


# -- validation, all or nothing ------------------------------------------------------------------------------


def test_one_bad_row_writes_nothing(env: Env, tmp_path: Path) -> None:
    path = simple_book(tmp_path / "bad.xlsx", [*GOOD_ROWS[:2], BAD_ROW, GOOD_ROWS[2]])
    result = run_import(env, path)
    assert not result.written and result.exit_code == 1
    assert (result.read, result.imported, result.errors) == (4, 0, 1)
    assert count_demands(env.db) == 0
    report = importer.write_report(result, tmp_path / "report.xlsx")
    ws = openpyxl.load_workbook(report)["问题清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("级别", "工作表", "原行号", "列", "值", "原因")
    assert rows[1][0] == "错误" and rows[1][1] == "台账" and rows[1][2] == 4
    assert "联系方式" in rows[1][3] and rows[1][4] == "1380013" and "11 位" in rows[1][5]


def test_skip_invalid_writes_exactly_the_valid_rows(env: Env, tmp_path: Path) -> None:
    path = simple_book(tmp_path / "bad.xlsx", [*GOOD_ROWS[:2], BAD_ROW, GOOD_ROWS[2]])
    result = run_import(env, path, skip_invalid=True)
    assert result.written and (result.imported, result.errors) == (3, 1) and result.exit_code == 1
    assert sorted(r["content"] for r in demand_rows(env.db)) == sorted(r[4] for r in GOOD_ROWS)


def test_second_import_adds_nothing(env: Env, tmp_path: Path) -> None:
    path = title_rows_book(tmp_path / "a.xlsx")
    first = run_import(env, path)
    second = run_import(env, path)
    assert first.imported == 6
    assert (second.imported, second.duplicates, second.errors, second.exit_code) == (0, 6, 0, 0)
    assert count_demands(env.db) == 6


def test_duplicate_rows_within_the_file(env: Env, tmp_path: Path) -> None:
    dup = ["甲", "138 0013 8041", "柳树村1组", "求决类", "路面  坑洼", "2024.5.6", ""]  # same person, content, day
    result = run_import(env, simple_book(tmp_path / "d.xlsx", [*GOOD_ROWS, dup]))
    assert (result.imported, result.duplicates) == (3, 1)
    issue = next(i for i in result.issues if i.level == importer.DUPLICATE)
    assert issue.row == 5 and "第 2 行" in issue.reason


@pytest.mark.parametrize(("row", "column", "reason"), [
    (["甲", "", "", "求决", "", "2024-05-06", ""], "诉求内容", "不能为空"),
    (["甲", "", "", "催办", "路面坑洼", "2024-05-06", ""], "诉求类型", "无法识别"),
    (["甲", "", "", "求决", "路面坑洼", "2099-01-01", ""], "受理日期", "将来"),
    (["甲", "", "", "求决", "路面坑洼", "下周一", ""], "受理日期", "无法识别"),
    (["甲", "0827", "", "求决", "路面坑洼", "2024-05-06", ""], "联系方式", "区号"),
    (["甲", "13800abc", "", "求决", "路面坑洼", "2024-05-06", ""], "联系方式", "非数字"),
])
def test_row_errors_name_the_column_and_reason(env: Env, tmp_path: Path, row: list[Any], column: str,
                                               reason: str) -> None:
    result = run_import(env, simple_book(tmp_path / "e.xlsx", [row]), dry_run=True)
    assert result.errors == 1
    issue = next(i for i in result.issues if i.level == importer.ERROR)
    assert column in issue.column and reason in issue.reason and issue.row == 2


def test_unknown_village_is_a_warning(env: Env, tmp_path: Path) -> None:
    path = simple_book(tmp_path / "v.xlsx", [["甲", "", "外乡某村", "求决", "路面坑洼", "2024-05-06"]],
                       ["反映人", "联系方式", "住址", "诉求类型", "诉求内容", "受理日期"])
    result = run_import(env, path)
    assert result.imported == 1 and result.errors == 0 and result.warnings == 1
    assert demand_rows(env.db)[0]["village"] == ""


def test_unknown_unit_created_or_refused_when_strict(env: Env, tmp_path: Path) -> None:
    rows = [["甲", "", "柳树村", "求决", "路面坑洼", "2024-05-06", "巴州区交通运输局"]]
    strict = run_import(env, simple_book(tmp_path / "u.xlsx", rows), strict=True)
    assert strict.errors == 1 and not strict.written
    assert "巴州区交通运输局" in strict.issues[0].reason
    relaxed = run_import(env, simple_book(tmp_path / "u2.xlsx", rows))
    assert relaxed.created == {"unit": ["巴州区交通运输局"]}
    with env.db.read() as s:
        assert s.scalar(sa.select(Unit.level).where(Unit.name == "巴州区交通运输局")) is Level.DISTRICT


def test_user_choices_map_and_create(env: Env, tmp_path: Path) -> None:
    head = ["反映人", "住址", "诉求类型", "诉求内容", "受理日期", "村名", "问题类别", "收集方式"]
    rows = [["甲", "", "求决", "路面坑洼", "2024-05-06", "柳树大队", "基础设施/村组道路", "院坝会议"],
            ["乙", "", "求决", "灌溉渠垮塌", "2024-05-06", "新民村", "基础设施/水利", "院坝会议"]]
    m = ImportMapping()
    m.set_choice("village", "柳树大队", ValueChoice("map", to="柳树村"))
    m.set_choice("village", "新民村", ValueChoice("create"))
    m.set_choice("category", "基础设施 › 村组道路", ValueChoice("map", to="城乡建设 › 农村建设 › 村道硬化"))
    m.set_choice("channel", "院坝会议", ValueChoice("map", to="群众提(坝坝会/座谈)"))
    saved = tmp_path / "mapping.json"
    m.save(saved)
    result = run_import(env, simple_book(tmp_path / "c.xlsx", rows, head), mapping=ImportMapping.load(saved))
    assert result.imported == 2 and result.errors == 0
    rows_by = {r["name"]: r for r in demand_rows(env.db)}
    assert rows_by["甲"]["village"] == "柳树村" and rows_by["乙"]["village"] == "新民村"
    assert rows_by["甲"]["category"] == "城乡建设 › 农村建设 › 村道硬化"
    assert rows_by["乙"]["category"] == "基础设施 › 水利"  # created, two levels
    assert rows_by["乙"]["channel"] == "群众提(坝坝会/座谈)"
    assert result.created["village"] == ["新民村"]
    with env.db.read() as s:
        assert s.scalar(sa.select(Category.depth).where(Category.name == "水利")) == 2


def test_saved_column_mapping_is_reused(env: Env, tmp_path: Path) -> None:
    head = ["群众", "号码", "事由", "分类性质", "收到那天"]
    path = simple_book(tmp_path / "odd.xlsx", [["甲", "13800138041", "路面坑洼", "求决", "2024-05-06"]], head)
    with pytest.raises(importer.ImportProblem):
        run_import(env, path)
    m = ImportMapping(columns={"群众": "name", "号码": "phone", "事由": "content", "分类性质": "type",
                               "收到那天": "received"})
    result = run_import(env, path, mapping=ImportMapping.from_json(m.as_json()))
    assert result.imported == 1 and demand_rows(env.db)[0]["phone"] == "13800138041"


def test_missing_type_column_uses_the_default(env: Env, tmp_path: Path) -> None:
    head = ["反映人", "诉求内容", "受理日期", "住址"]
    path = simple_book(tmp_path / "t.xlsx", [["甲", "路面坑洼", "2024-05-06", "柳树村"]], head)
    refused = run_import(env, path, dry_run=True)
    assert refused.errors == 1 and "诉求类型" in refused.issues[0].reason
    result = run_import(env, path, mapping=ImportMapping(defaults={"type": "求决"}))
    assert result.imported == 1 and demand_rows(env.db)[0]["type"] is DemandType.SOLVE


def test_dry_run_writes_nothing(env: Env, tmp_path: Path) -> None:
    result = run_import(env, title_rows_book(tmp_path / "a.xlsx"), dry_run=True)
    assert (result.read, result.to_import, result.imported) == (6, 6, 0)
    assert count_demands(env.db) == 0


def test_cancelled_import_writes_nothing(env: Env, tmp_path: Path) -> None:
    path = title_rows_book(tmp_path / "a.xlsx")
    with pytest.raises(Cancelled):
        importer.run(env.db, path, ImportOptions(), actor=env.registrar, cancelled=lambda: True)
    assert count_demands(env.db) == 0


# -- the old ledger's history: closed and evaluated rows ---------------------------------------------------

HISTORY_HEAD = ["反映人", "联系方式", "住址", "诉求类型", "诉求内容", "受理日期", "责任单位", "状态", "办结日期", "办理结果",
                "满意度"]
HISTORY_ROWS = [
    ["甲", "13800138041", "柳树村1组", "求决", "路面坑洼", "2024-05-06", "柳树村委会", "已办结", "2024-05-20", "已修补路面",
     "满意"],
    ["乙", "13800138042", "柳树村2组", "求决", "路灯不亮", "2024-05-06", "示范镇综合行政执法办公室", "办结", "", "", "不满意"],
    ["丙", "13800138043", "青山村1组", "求决", "水管破裂", "2024-05-07", "青山村委会", "办理中", "", "正在协调", ""],
    ["丁", "13800138044", "青山村2组", "建议", "建议安装健身器材", "2024-05-07", "", "", "2024年5月10日", "已采纳", ""],
    ["戊", "13800138045", "河东社区", "求决", "噪声扰民", "2024-05-08", "", "未办结", "", "", "满意"],
]


def imported(env: Env) -> dict[str, tuple[Demand, list[queries.StoryEvent], list[Any]]]:
    """Each imported demand by its petitioner's name, with its story and evaluations."""
    from app.models import Evaluation

    out = {}
    with env.db.read() as s:
        for d in s.scalars(sa.select(Demand)):
            evaluations = list(s.scalars(sa.select(Evaluation).where(Evaluation.demand_id == d.id)))
            _ = d.unit
            out[d.petitioner.name] = (d, queries.story(s, d), evaluations)
    return out


def test_closed_rows_of_the_old_ledger_are_imported_closed(env: Env, tmp_path: Path) -> None:
    from app.vocab import Satisfaction, Status

    result = run_import(env, simple_book(tmp_path / "h.xlsx", HISTORY_ROWS, HISTORY_HEAD))
    assert (result.imported, result.errors) == (5, 0)
    got = imported(env)

    a, story, evaluations = got["甲"]
    assert (a.status, a.closed_on, a.satisfaction) == (Status.EVALUATED, date(2024, 5, 20), Satisfaction.SATISFIED)
    assert a.result_summary == "已修补路面" and a.unit.name == "柳树村委会"
    assert a.level is Level.VILLAGE and a.first_level is Level.VILLAGE
    assert [(e.result, e.method, e.evaluated_on) for e in evaluations] == \
        [(Satisfaction.SATISFIED, "原台账", date(2024, 5, 20))]
    note = next(e.text for e in story if e.kind == "导入")
    assert "原台账记录为已办结，四方会签为纸质存档" in note and "未记载办结日期" not in note
    assert any(e.kind == "评价" and "原台账" in e.text for e in story)

    b, story, evaluations = got["乙"]  # 办结 without a date; 不满意 does not reopen history
    assert (b.status, b.satisfaction, b.rework_count) == (Status.EVALUATED, Satisfaction.UNSATISFIED, 0)
    assert b.closed_on == b.deadline and b.level is Level.TOWNSHIP
    assert [e.result for e in evaluations] == [Satisfaction.UNSATISFIED]
    note = next(e.text for e in story if e.kind == "导入")
    assert f"以办理期限 {b.deadline.isoformat()} 作为办结日期" in note and "不转二次整改" in note

    c, story, evaluations = got["丙"]  # still open in the old ledger: 待甄别, as any new demand
    assert (c.status, c.closed_on, c.first_level, evaluations) == (Status.REGISTERED, None, None, [])
    assert c.unit.name == "青山村委会" and c.result_summary == ""
    assert "办理结果 正在协调" in next(e.text for e in story if e.kind == "导入")

    d, _, evaluations = got["丁"]  # a 办结日期 alone closes it
    assert (d.status, d.closed_on, d.result_summary, evaluations) == \
        (Status.CLOSED, date(2024, 5, 10), "已采纳", [])

    e, _, evaluations = got["戊"]  # a satisfaction without a closure is only recorded
    assert (e.status, e.satisfaction, evaluations) == (Status.REGISTERED, None, [])
    warning = next(i for i in result.issues if i.level == importer.WARNING and i.row == 6)
    assert "满意度" in warning.column and "未记载办结" in warning.reason


def test_rates_count_the_imported_closures(env: Env, tmp_path: Path) -> None:
    run_import(env, simple_book(tmp_path / "h.xlsx", HISTORY_ROWS, HISTORY_HEAD))
    period = rates.Period(date(2024, 5, 1), date(2024, 6, 30))
    with env.db.read() as s:
        assert rates.completion_rate(s, period)[None] == rates.Ratio(3, 5)
        assert rates.on_time_rate(s, period)[None] == rates.Ratio(3, 3)
        assert rates.satisfaction_rate(s, period)[None] == rates.Ratio(1, 2)
        assert rates.satisfied_only_rate(s, period)[None] == rates.Ratio(1, 2)
        assert rates.completion_rate(s, rates.Period(date(2024, 4, 1), date(2024, 4, 30)))[None] == rates.Ratio(0, 0)


@pytest.mark.parametrize(("status", "closed", "column", "reason"), [
    ("已办结", "2024-05-01", "办结日期", "早于受理日期"),
    ("已办结", "2099-01-01", "办结日期", "将来"),
    ("已办结", "2024年13月5日", "办结日期", "不是有效日期"),
    ("办理中", "2024-05-10", "状态", "请核对"),
])
def test_closing_dates_are_checked(env: Env, tmp_path: Path, status: str, closed: str, column: str,
                                   reason: str) -> None:
    row = ["甲", "", "柳树村", "求决", "路面坑洼", "2024-05-06", "", status, closed, "", ""]
    result = run_import(env, simple_book(tmp_path / "c.xlsx", [row], HISTORY_HEAD), dry_run=True)
    assert result.errors == 1
    issue = next(i for i in result.issues if i.level == importer.ERROR)
    assert column in issue.column and reason in issue.reason and issue.row == 2


@pytest.mark.parametrize(("text", "closed"), [
    ("办结", True), ("已办结", True), ("已完成", True), ("是", True), ("已评价", True),
    ("未办结", False), ("办理中", False), ("待会签", False), ("否", False),
    ("", None), ("已交办", None), ("甄别关闭", None),
])
def test_old_statuses(text: str, closed: bool | None) -> None:
    assert importer.status_closed(text) is closed


def test_round_trip_keeps_closures(env: Env, empty_env: Env, tmp_path: Path) -> None:
    from app.vocab import Status

    codes = seed(env)
    with env.db.write() as s:
        everyone = s.scalars(sa.select(User).where(User.username == "quanneng")).one()
        demands.submit_signoff(s, everyone, codes[0], "已更换灯具")
        for party in ("诉求人", "办理人", "分管领导", "主要领导"):
            demands.sign(s, everyone, codes[0], party, "某人", signed_on=date(2025, 3, 20))
        demands.evaluate(s, everyone, codes[0], "基本满意", method="电话回访", on=date(2025, 3, 21))
    out = exporter.export_ledger(env.db, tmp_path / "ledger.xlsx")
    assert run_import(empty_env, out.path).imported == 3
    with empty_env.db.read() as s:
        d = s.scalars(sa.select(Demand).where(Demand.original_no == codes[0])).one()
        assert (d.status, d.closed_on, d.satisfaction.label) == (Status.EVALUATED, date(2025, 3, 20), "基本满意")
        others = s.scalars(sa.select(Demand.status).where(Demand.original_no != codes[0])).all()
        assert others == [Status.REGISTERED, Status.REGISTERED]


# -- exports -------------------------------------------------------------------------------------------------


def seed(env: Env) -> list[str]:
    """A few demands with every ledger field filled, some assigned, through the services."""
    with env.db.write() as s:
        everyone = s.scalars(sa.select(User).where(User.username == "quanneng")).one()
        cat = s.scalar(sa.select(Category.id).where(Category.name == "路灯照明"))
        two_level = s.scalar(sa.select(Category.id).where(Category.name == "物业管理"))
        channel = s.scalar(sa.select(Channel.id).where(Channel.name == "来电"))
        office = s.scalar(sa.select(Unit.id).where(Unit.name == "示范镇综合行政执法办公室"))
        specs = [
            ("求决", "村道路灯损坏，夜间出行不便", date(2025, 3, 3), cat, channel, "柳树村", "张三", "13800138000",
             "柳树村3组", "需尽快", office),
            ("建议", "=HYPERLINK(\"http://x\",\"点我\")", date(2025, 3, 4), two_level, None, "河东社区", "@李四",
             "0827-5212345", "-河东社区2栋", "+备注", None),
            ("咨询", "咨询低保政策\n第二行", date(2025, 3, 5), None, channel, "", "王五", "", "外地", "", None),
        ]
        codes = []
        for dtype, content, received, category, ch, village, name, phone, address, remarks, unit in specs:
            d = demands.register(s, everyone, demands.DemandInput(
                type=dtype, content=content, received_on=received, category_id=category, channel_id=ch,
                village_id=env.villages.get(village), petitioner_name=name, petitioner_phone=phone,
                petitioner_address=address, remarks=remarks))
            if unit is not None:
                demands.screen(s, everyone, d, "有效")
                demands.review(s, everyone, d, "合理")
                demands.assign(s, everyone, d, unit)
            codes.append(d.code)
        return codes


def test_round_trip_export_then_import(env: Env, empty_env: Env, tmp_path: Path) -> None:
    codes = seed(env)
    out = exporter.export_ledger(env.db, tmp_path / "ledger.xlsx")
    assert out.rows == 3
    result = run_import(empty_env, out.path)
    assert (result.read, result.imported, result.errors) == (3, 3, 0)
    before, after = demand_rows(env.db), demand_rows(empty_env.db)
    keys = ["received", "type", "content", "name", "phone", "address", "village", "unit", "channel", "remarks",
            "category"]
    assert [{k: r[k] for k in keys} for r in after] == [{k: r[k] for k in keys} for r in before]
    assert [r["original_no"] for r in after] == codes  # the old case number is kept ...
    assert all(r["code"].startswith(TOWN_CODE) for r in after)  # ... and each gets its own
    again = run_import(empty_env, out.path)
    assert (again.imported, again.duplicates) == (0, 3)


def test_round_trip_of_the_village_workbook(env: Env, empty_env: Env, tmp_path: Path) -> None:
    seed(env)
    out = exporter.export_villages(env.db, tmp_path / "villages.xlsx", rates.Period(date(2025, 1, 1),
                                                                                    date(2025, 12, 31)))
    result = run_import(empty_env, out.path)
    assert [n for n, _ in result.skipped_sheets] == ["汇总"]  # the rates are not demands
    assert {s.name: s.rows for s in result.sheets} == {"柳树村": 1, "河东社区": 1, "青山村": 0, "未归属村(社区)": 1}
    assert result.imported == 3


def test_district_layout(env: Env, tmp_path: Path) -> None:
    seed(env)
    f = queries.DemandFilter(received_from=date(2025, 3, 1), received_to=date(2025, 3, 31))
    path = exporter.export_ledger(env.db, tmp_path / "ledger.xlsx", f).path
    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].value == "示范镇群众诉求排查台账（2025年3月）"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:S1", "F3:H3", "A3:A4", "J3:J4"} <= merged
    assert [ws.cell(3, c).value for c in range(1, 20)][:6] == ["序号", "反映人", "住址", "联系方式", "诉求类型", "诉求类别"]
    assert [ws.cell(4, c).value for c in (6, 7, 8)] == ["一级", "二级", "三级"]
    assert [ws.cell(3, c).value for c in range(9, 20)] == ["诉求来源", "诉求内容", "责任单位", "备注", "编码", "受理日期",
                                                           "办理时限", "状态", "办结日期", "满意度", "村(社区)"]
    assert ws.freeze_panes == "A5"
    assert ws.auto_filter.ref == "A4:S7"
    assert ws.print_title_rows == "$3:$4"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    assert ws.column_dimensions["J"].width >= 30 and ws["J5"].alignment.wrap_text
    assert ws.row_dimensions[7].height >= 26  # two lines of content: tall enough to show both
    assert ws["N5"].value == datetime(2025, 3, 3) and ws["N5"].number_format == "yyyy-mm-dd"
    assert ws["K5"].value == "示范镇综合行政执法办公室" and ws["F5"].value == "城市管理" and ws["H5"].value == "路灯照明"


def test_formula_like_text_is_escaped(env: Env, tmp_path: Path) -> None:
    seed(env)
    path = exporter.export_ledger(env.db, tmp_path / "ledger.xlsx").path
    ws = openpyxl.load_workbook(path).active
    content, name, address, remarks = ws["J6"], ws["B6"], ws["C6"], ws["L6"]
    assert content.value == "=HYPERLINK(\"http://x\",\"点我\")"
    for cell in (content, name, address, remarks):
        assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
    assert name.value == "@李四" and address.value == "-河东社区2栋" and remarks.value == "+备注"
    assert not ws["J5"].quotePrefix  # ordinary text is left alone
    with zipfile.ZipFile(path) as z:  # no formula element anywhere in the sheet
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml


def test_phones_and_case_numbers_stay_text(env: Env, tmp_path: Path) -> None:
    codes = seed(env)
    ws = openpyxl.load_workbook(exporter.export_ledger(env.db, tmp_path / "l.xlsx").path).active
    assert ws["D5"].value == "13800138000" and ws["D5"].data_type == "s" and ws["D5"].number_format == "@"
    assert ws["D6"].value == "0827-5212345" and ws["D6"].data_type == "s"
    assert ws["M5"].value == codes[0] and ws["M5"].data_type == "s" and ws["M5"].number_format == "@"


def test_village_summary_matches_the_rates(env: Env, tmp_path: Path) -> None:
    seed(env)
    period = rates.Period(date(2025, 3, 1), date(2025, 3, 31))
    out = exporter.export_villages(env.db, tmp_path / "v.xlsx", period)
    book = openpyxl.load_workbook(out.path)
    assert book.sheetnames == ["汇总", "柳树村", "河东社区", "青山村", "未归属村(社区)"]
    summary = book["汇总"]
    with env.db.read() as s:
        by_village = {r.label: r for r in rates.stats(s, period, "village")}
        total = rates.stats(s, period)[0]
    rows = {r[0]: r for r in summary.iter_rows(min_row=5, values_only=True) if r[0]}
    for label, expected in [*by_village.items(), ("合计", total)]:
        label = "未归属村(社区)" if label == "未填写" else label
        got = rows[label]
        assert got[1:3] == (expected.received, expected.valid)
        for i, ratio in enumerate(expected.rates.values()):
            n, d, value = got[3 + 3 * i: 6 + 3 * i]
            assert (n, d) == (ratio.numerator, ratio.denominator)
            assert value == (ratio.value if ratio.value is not None else "—")
    assert book["柳树村"]["A1"].value == "柳树村诉求台账（2025年3月）"
    assert book["柳树村"].max_row == 5
    only = exporter.export_villages(env.db, tmp_path / "one.xlsx", period, [env.villages["河东社区"]])
    assert only.sheets == ["汇总", "河东社区"] and only.rows == 1


def test_export_view_uses_the_columns_and_filter(env: Env, tmp_path: Path) -> None:
    seed(env)
    f = queries.DemandFilter(village_ids=[env.villages["柳树村"], env.villages["河东社区"]])
    out = exporter.export_view(env.db, tmp_path / "view.xlsx", f, ["code", "petitioner", "phone", "remaining"],
                               sort="received", descending=False, title="台账 · 两村", today=date(2025, 3, 10))
    ws = openpyxl.load_workbook(out.path).active
    assert [c.value for c in ws[3]] == ["编码", "反映人", "联系方式", "剩余工作日"]
    assert [ws.cell(r, 2).value for r in (4, 5)] == ["张三", "@李四"] and ws.max_row == 5
    assert ws["C4"].data_type == "s"


def test_cancelled_export_leaves_no_file(env: Env, tmp_path: Path) -> None:
    seed(env)
    target = tmp_path / "x.xlsx"
    seen: list[tuple[int, int]] = []
    with pytest.raises(Cancelled):
        exporter.export_ledger(env.db, target, progress=lambda d, t, _x: seen.append((d, t)),
                               cancelled=lambda: True)
    assert not target.exists() and list(tmp_path.glob("*.part*")) == []
    exporter.export_ledger(env.db, target, progress=lambda d, t, _x: seen.append((d, t)))
    assert target.exists() and seen[-1] == (3, 3)


# -- the command line ---------------------------------------------------------------------------------------------


def test_cli_import_and_export(env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(env.path)
    bad = simple_book(tmp_path / "bad.xlsx", [*GOOD_ROWS, BAD_ROW])
    assert cli_main(["--db", db, "import-ledger", str(bad)]) == 1
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == "read=4 imported=0 duplicates=0 errors=1"
    assert "第 5 行" in out.err
    report = importer.default_report_path(bad)
    assert report.exists()
    assert cli_main(["--db", db, "import-ledger", str(bad), "--dry-run"]) == 1
    capsys.readouterr()
    custom = tmp_path / "mine.xlsx"
    assert cli_main(["--db", db, "import-ledger", str(bad), "--skip-invalid", "--report", str(custom)]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == "read=4 imported=3 duplicates=0 errors=1"
    assert custom.exists()
    good = simple_book(tmp_path / "good.xlsx", GOOD_ROWS)
    assert cli_main(["--db", db, "import-ledger", str(good)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "read=3 imported=0 duplicates=3 errors=0"

    out_file = tmp_path / "export.xlsx"
    assert cli_main(["--db", db, "export-ledger", "--out", str(out_file), "--month", "2024-05"]) == 0
    assert "已导出 3 条" in capsys.readouterr().out
    assert cli_main(["--db", db, "export-ledger", "--out", str(tmp_path / "v.xlsx"), "--per-village",
                     "--from", "2024-05-01", "--to", "2024-05-31", "--village", "柳树村"]) == 0
    assert openpyxl.load_workbook(tmp_path / "v.xlsx").sheetnames == ["汇总", "柳树村"]
    assert cli_main(["--db", db, "export-ledger", "--out", str(out_file), "--village", "无此村"]) == 2
    assert cli_main(["--db", db, "import-ledger", str(tmp_path / "missing.xlsx")]) == 2


def test_cli_strict_and_mapping(env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(env.path)
    rows = [["甲", "", "柳树村", "求决", "路面坑洼", "2024-05-06", "巴州区交通运输局"]]
    path = simple_book(tmp_path / "u.xlsx", rows)
    assert cli_main(["--db", db, "import-ledger", str(path), "--strict"]) == 1
    capsys.readouterr()
    assert cli_main(["--db", db, "import-ledger", str(path)]) == 0
    assert "已新建责任单位：巴州区交通运输局" in capsys.readouterr().out
    m = tmp_path / "m.json"
    ImportMapping(columns={"责任单位": ""}).save(m)
    other = simple_book(tmp_path / "u2.xlsx", [["乙", "", "柳树村", "求决", "路灯", "2024-05-06", "某单位"]])
    assert cli_main(["--db", db, "import-ledger", str(other), "--mapping", str(m), "--strict"]) == 0


# -- the desktop program's wizard and export actions ----------------------------------------------------------------


@pytest.fixture
def ctx(env: Env, tmp_path: Path):  # type: ignore[no-untyped-def]
    from app.views.context import AppContext

    return AppContext(db=env.db, user=env.registrar, files_dir=tmp_path / "files")


def test_import_wizard_end_to_end(qtbot: Any, ctx: Any, env: Env, tmp_path: Path) -> None:
    from app.views import tasks
    from app.views.import_wizard import PAGE_CHECK, PAGE_MAPPING, PAGE_RUN, ImportWizard

    path = title_rows_book(tmp_path / "a.xlsx")
    wizard = ImportWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.file_page.open_file(path)
    qtbot.waitUntil(lambda: wizard.file_page.isComplete(), timeout=10_000)
    wizard.next()
    assert wizard.currentId() == PAGE_MAPPING and wizard.mapping_page.isComplete()
    wizard.next()
    assert wizard.currentId() == PAGE_CHECK
    qtbot.waitUntil(lambda: wizard.preview is not None, timeout=10_000)
    assert (wizard.preview.read, wizard.preview.to_import) == (6, 6)
    assert wizard.check_page.isComplete()
    with qtbot.waitSignal(ctx.nav.data_changed, timeout=20_000):
        wizard.next()
        assert wizard.currentId() == PAGE_RUN
    qtbot.waitUntil(lambda: wizard.run_page.isComplete(), timeout=10_000)
    assert wizard.result is not None and wizard.result.imported == 6
    assert count_demands(env.db) == 6
    tasks.wait_all()


def test_export_action_writes_the_file(qtbot: Any, ctx: Any, env: Env, tmp_path: Path) -> None:
    from app.views import export_actions, tasks

    seed(env)
    done: list[exporter.ExportResult] = []
    target = tmp_path / "ledger.xlsx"
    task = export_actions.export_district_ledger(None, ctx, queries.DemandFilter(), path=target,
                                                 on_done=done.append)
    assert task is not None
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert done[0].rows == 3 and target.exists()
    view = tmp_path / "view.xlsx"
    export_actions.export_view(None, ctx, None, ["code", "content"], path=view, on_done=done.append)
    qtbot.waitUntil(lambda: len(done) == 2, timeout=10_000)
    assert openpyxl.load_workbook(view).active.max_row == 6
    tasks.wait_all()

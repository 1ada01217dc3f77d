"""The command line: init, user, list, show (the GUI-free way staff and scripts use the ledger)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from app import cli
from app.models import Unit, User, Village
from app.services import demands, setup
from app.vocab import Role, Status


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def filled(ledger):
    """Three demands: one in handling with co-units, one closed, one just registered."""
    p, t = ledger.people, ledger.town
    handling = ledger.register("求决", date(2025, 3, 3), "柳树村", name="张大爷", phone="138 0000 1234")
    with ledger.db.write() as s:
        demands.screen(s, p.registrar, handling, "有效")
        demands.review(s, p.deputy, handling, "合理")
        demands.assign(s, p.registrar, handling, t.village_units["柳树村"], co_unit_ids=[t.office_unit])
        demands.add_progress(s, p.handler, handling, "已现场查看", done_on=date(2025, 3, 5))
    closed = ledger.register("建议", date(2025, 3, 4), "河东社区", name="李阿姨")
    ledger.advance(closed, Status.CLOSED, on=date(2025, 3, 20))
    fresh = ledger.register("咨询", date(2025, 3, 6), "青山村", name="王师傅")
    return ledger, {"handling": handling, "closed": closed, "fresh": fresh}


def db_path(led) -> str:
    return led.db.url.removeprefix("sqlite:///")


def test_list_json(filled, capsys):
    led, codes = filled
    code, out, _ = run(capsys, "--db", db_path(led), "list", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert {"code", "status", "type", "received", "deadline", "village", "unit", "petitioner"} <= set(row)
    by_code = {r["code"]: r for r in rows}
    h = by_code[codes["handling"]]
    assert (h["status"], h["type"], h["received"], h["deadline"], h["village"], h["petitioner"]) == (
        "办理中", "求决", "2025-03-03", "2025-03-31", "柳树村", "张大爷")
    with led.db.read() as s:
        assert h["unit"] == s.get(Unit, led.town.village_units["柳树村"]).name
    assert h["phone"] == "13800001234"  # stored normalised
    assert by_code[codes["closed"]]["status"] == "已办结"
    assert by_code[codes["fresh"]]["status"] == "待甄别"
    assert by_code[codes["fresh"]]["unit"] == ""
    # Newest received first.
    assert [r["received"] for r in rows] == ["2025-03-06", "2025-03-04", "2025-03-03"]


def test_list_filters(filled, capsys):
    led, codes = filled
    path = db_path(led)
    _, out, _ = run(capsys, "--db", path, "list", "--json", "--status", "办理中")
    assert [json.loads(x)["code"] for x in out.splitlines()] == [codes["handling"]]
    _, out, _ = run(capsys, "--db", path, "list", "--json", "--village", "河东社区")
    assert [json.loads(x)["code"] for x in out.splitlines()] == [codes["closed"]]
    _, out, _ = run(capsys, "--db", path, "list", "--json", "--type", "咨询")
    assert [json.loads(x)["code"] for x in out.splitlines()] == [codes["fresh"]]
    _, out, _ = run(capsys, "--db", path, "list", "--json", "--from", "2025-03-04", "--to", "2025-03-05")
    assert [json.loads(x)["code"] for x in out.splitlines()] == [codes["closed"]]
    _, out, _ = run(capsys, "--db", path, "list", "--json", "--limit", "1")
    assert len(out.splitlines()) == 1
    # Overdue: open and past the deadline (today is long after March 2025); the closed one is not.
    _, out, _ = run(capsys, "--db", path, "list", "--json", "--overdue")
    assert sorted(json.loads(x)["code"] for x in out.splitlines()) == sorted([codes["handling"], codes["fresh"]])
    code, out, _ = run(capsys, "--db", path, "list")
    assert code == 0 and out.splitlines()[-1] == "共 3 件，显示 3 件"


def test_list_unknown_village_or_status(filled, capsys):
    led, _ = filled
    code, out, err = run(capsys, "--db", db_path(led), "list", "--village", "不存在村")
    assert code != 0 and "不存在村" in err and out == ""
    code, _, err = run(capsys, "--db", db_path(led), "list", "--status", "飞了")
    assert code != 0 and "飞了" in err


def test_show_json_has_the_history(filled, capsys):
    led, codes = filled
    code, out, _ = run(capsys, "--db", db_path(led), "show", codes["handling"], "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["code"] == codes["handling"] and shown["status"] == "办理中"
    assert shown["level"] == "村" and shown["co_units"] == ["示范镇综合行政执法办公室"]
    kinds = [e["kind"] for e in shown["history"]]
    for kind in ("受理登记", "初审", "复核", "交办", "办理进展"):
        assert kind in kinds
    assert kinds[0] == "受理登记"
    progress = next(e for e in shown["history"] if e["kind"] == "办理进展")
    assert progress["who"] == "李办理" and "已现场查看" in progress["text"]

    code, out, _ = run(capsys, "--db", db_path(led), "show", codes["closed"], "--json")
    kinds = [e["kind"] for e in json.loads(out)["history"]]
    assert [k for k in kinds if k.startswith("会签")] == ["会签·诉求人", "会签·办理人", "会签·分管领导",
                                                          "会签·主要领导"]


def test_show_text(filled, capsys):
    led, codes = filled
    code, out, _ = run(capsys, "--db", db_path(led), "show", codes["handling"])
    assert code == 0
    assert out.startswith(f"{codes['handling']}  办理中  求决")
    assert "张大爷" in out and "经过：" in out


def test_show_unknown_code(ledger, capsys):
    code, out, err = run(capsys, "--db", db_path(ledger), "show", "511902001-2025-99999")
    assert code != 0
    assert out == ""
    assert "找不到诉求" in err and "511902001-2025-99999" in err


def test_init_creates_the_township(tmp_path, capsys):
    villages = tmp_path / "villages.csv"
    villages.write_text("村名,代码,网格\n柳树村,511902001201,一组;二组\n河东社区,511902001002\n",
                        encoding="utf-8-sig")
    target = tmp_path / "new.sqlite"
    code, out, _ = run(capsys, "--db", target, "init", "--township", "示范镇", "--code", "511902001",
                       "--villages", villages, "--admin-password", "secret")
    assert code == 0 and "村(社区) 2 个" in out
    from app.db import Database

    db = Database(f"sqlite:///{target}")
    with db.read() as s:
        names = list(s.scalars(sa.select(Village.name).order_by(Village.sort)))
        assert names == ["柳树村", "河东社区"]
        admin = s.scalars(sa.select(User).where(User.username == "admin")).one()
        assert admin.role_set() == {Role.ADMIN}
        assert setup.authenticate(s, "admin", "secret").id == admin.id
    db.dispose()
    # Running init again is safe; a different division code is refused.
    assert run(capsys, "--db", target, "init", "--township", "示范镇", "--code", "511902001")[0] == 0
    code, _, err = run(capsys, "--db", target, "init", "--township", "别的镇", "--code", "511902002")
    assert code != 0 and "511902001" in err


def test_init_rejects_a_bad_division_code(tmp_path, capsys):
    code, _, err = run(capsys, "--db", tmp_path / "x.sqlite", "init", "--township", "示范镇", "--code", "5119")
    assert code != 0 and "区划代码" in err


def test_user_add_on_a_new_database(tmp_path, capsys):
    """The first user of a fresh database is created from the command line."""
    target = tmp_path / "new.sqlite"
    assert run(capsys, "--db", target, "init", "--township", "示范镇", "--code", "511902001")[0] == 0
    code, out, err = run(capsys, "--db", target, "user", "add", "boss", "--name", "周管理", "--roles", "管理员",
                         "--password", "secret")
    assert (code, err) == (0, "") and "boss" in out
    # Now an administrator exists, and the command line acts as that administrator.
    code, _, _ = run(capsys, "--db", target, "user", "add", "clerk", "--roles", "登记员,办理人",
                     "--password", "secret")
    assert code == 0
    code, _, err = run(capsys, "--db", target, "user", "add", "who", "--roles", "飞行员", "--password", "secret")
    assert code != 0 and "飞行员" in err

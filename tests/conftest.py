"""Shared fixtures: a fresh database per test, a township with villages and grids, users
of every role, and a small ``Ledger`` helper that drives demands through the services.

The environment is set before any test module is imported: Qt runs offscreen (the GUI
tests share this file) and the program's data directory is a temporary one, so no test
ever writes into the real user data directory or picks up a user's ``KUAICHU_DB``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import Database
from app.models import (
    Assignment,
    Attachment,
    AuditEvent,
    Demand,
    Evaluation,
    Extension,
    Pause,
    ProgressEntry,
    Revisit,
    Screening,
    SignOff,
    Supervision,
    Unit,
    User,
)
from app.services import demands, setup
from app.services.setup import VillageSpec
from app.vocab import Level, Role, Status

# Before any test runs: Qt reads QT_QPA_PLATFORM when the first QApplication starts, and
# app.paths reads KUAICHU_DATA_DIR / KUAICHU_DB each time it is asked, so setting them
# here, ahead of every test module, is early enough.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_DATA_DIR = tempfile.mkdtemp(prefix="kuaichu-tests-")
os.environ["KUAICHU_DATA_DIR"] = _DATA_DIR
os.environ.pop("KUAICHU_DB", None)
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

TOWN_NAME = "示范镇"
TOWN_CODE = "511902001"
VILLAGES = [
    VillageSpec("柳树村", "511902001201", ["一组网格", "二组网格"]),
    VillageSpec("河东社区", "511902001002", ["东一网格"]),
    VillageSpec("青山村", "511902001203", []),
]
EVENT_TABLES = (Screening, Assignment, ProgressEntry, Attachment, Extension, Pause, SignOff,
                Evaluation, Revisit, Supervision, AuditEvent)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Users are created in almost every test; the production PBKDF2 cost is not under test."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(setup, "PBKDF2_ROUNDS", 1_000)
        yield


# -- the township and its people -----------------------------------------------------


@dataclass
class Town:
    id: int
    code: str
    villages: dict[str, int]  # village name -> id
    grids: dict[str, int]  # grid name -> id
    village_units: dict[str, int]  # village name -> its committee (村级责任单位)
    township_unit: int  # 乡镇人民政府
    office_unit: int  # a township office (乡镇级)
    district_unit: int  # a district bureau (区级)
    city_unit: int  # a city body (市级)


@dataclass
class People:
    registrar: User
    handler: User
    deputy: User
    chief: User
    supervisor: User
    admin: User
    everyone: User  # holds every role (for tests about the state machine, not permissions)
    nobody: User  # holds no role
    retired: User  # a 登记员 whose account is deactivated

    def by_role(self) -> dict[Role, User]:
        return {Role.REGISTRAR: self.registrar, Role.HANDLER: self.handler,
                Role.DEPUTY_LEADER: self.deputy, Role.CHIEF_LEADER: self.chief,
                Role.SUPERVISOR: self.supervisor, Role.ADMIN: self.admin}


def make_database(path: Path) -> Database:
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    return database


def make_town(db: Database) -> Town:
    with db.write() as s:
        town = setup.init_township(s, TOWN_NAME, TOWN_CODE, VILLAGES)
        office = setup.ensure_unit(s, "示范镇综合行政执法办公室", Level.TOWNSHIP)
        district = setup.ensure_unit(s, "巴州区住房和城乡建设局", Level.DISTRICT)
        city = setup.ensure_unit(s, "巴中市城市管理局", Level.CITY)
        township_unit = setup.ensure_unit(s, f"{TOWN_NAME}人民政府", Level.TOWNSHIP)
        villages = {v.name: v.id for v in town.villages}
        grids = {g.name: g.id for v in town.villages for g in v.grids}
        units = dict(s.execute(sa.select(Unit.village_id, Unit.id).where(Unit.village_id.is_not(None))).all())
        village_units = {name: units[vid] for name, vid in villages.items()}
        return Town(town.id, town.code, villages, grids, village_units, township_unit.id, office.id,
                    district.id, city.id)


def make_people(db: Database) -> People:
    R = Role
    specs = {
        "registrar": ("dengji", "王登记", [R.REGISTRAR]),
        "handler": ("banli", "李办理", [R.HANDLER]),
        "deputy": ("fenguan", "赵分管", [R.DEPUTY_LEADER]),
        "chief": ("zhuyao", "钱主要", [R.CHIEF_LEADER]),
        "supervisor": ("jijian", "孙纪检", [R.SUPERVISOR]),
        "admin": ("admin", "周管理", [R.ADMIN]),
        "everyone": ("quanneng", "吴全能", list(R)),
        "nobody": ("youke", "郑游客", []),
        "retired": ("tuixiu", "冯退休", [R.REGISTRAR]),
    }
    with db.write() as s:
        users = {key: setup.add_user(s, None, username, name, roles, "secret", check=False)
                 for key, (username, name, roles) in specs.items()}
        users["retired"].active = False
        s.flush()
    return People(**users)


# -- driving demands through the services --------------------------------------------


@dataclass
class Ledger:
    """A database with a township and its people, and shortcuts used by many tests."""

    db: Database
    town: Town
    people: People
    _phones: int = field(default=0)

    def register(self, type: str = "求决", received: date = date(2025, 3, 3), village: str = "柳树村",
                 name: str = "", phone: str | None = None, actor: User | None = None, **extra: Any) -> str:
        """Register one demand as the 登记员; every call gets a new petitioner unless ``phone`` is given."""
        if phone is None:
            self._phones += 1
            phone = f"1390000{self._phones:04d}"
        data = demands.DemandInput(
            type=type, content=extra.pop("content", "村道路灯损坏，夜间出行不便"), received_on=received,
            village_id=self.town.villages[village] if village else None,
            petitioner_name=name or f"群众{self._phones}", petitioner_phone=phone,
            petitioner_address=extra.pop("address", f"{village}3组"), **extra)
        with self.db.write() as s:
            return demands.register(s, actor or self.people.registrar, data).code

    def sign_all(self, code: str, on: date, actor: User | None = None) -> None:
        """The four sign-offs in their order, each by a user allowed to record it."""
        p = self.people
        order = [("诉求人", p.registrar, "张群众"), ("办理人", p.handler, "李办理"),
                 ("分管领导", p.deputy, "赵分管"), ("主要领导", p.chief, "钱主要")]
        for party, user, signer in order:
            with self.db.write() as s:
                demands.sign(s, actor or user, code, party, signer, signed_on=on, opinion="同意")

    def advance(self, code: str, target: Status, on: date = date(2025, 3, 20)) -> None:
        """Take a freshly registered demand to ``target`` along the ordinary path."""
        p = self.people
        if target is Status.REGISTERED:
            return
        if target is Status.INVALID:
            with self.db.write() as s:
                demands.screen(s, p.registrar, code, "虚假", "经核实反映情况不存在，已向诉求人说明")
            return
        steps = [
            (Status.SCREENED, lambda s: demands.screen(s, p.registrar, code, "有效")),
            (Status.PENDING_ASSIGNMENT, lambda s: demands.review(s, p.deputy, code, "合理")),
            (Status.HANDLING,
             lambda s: demands.assign(s, p.registrar, code, self.town.village_units["柳树村"])),
            (Status.AWAITING_SIGNOFF,
             lambda s: demands.submit_signoff(s, p.handler, code, "已更换灯具，恢复照明")),
        ]
        for state, step in steps:
            with self.db.write() as s:
                step(s)
            if state is target:
                return
        self.sign_all(code, on)
        if target is Status.CLOSED:
            return
        result = {Status.EVALUATED: "满意", Status.REWORK: "不满意"}[target]
        with self.db.write() as s:
            demands.evaluate(s, p.registrar, code, result, method="电话回访", on=on)

    def demand(self, code: str) -> Demand:
        """The demand as a new read session sees it (detached, attributes loaded)."""
        with self.db.read() as s:
            d = demands.get(s, code)
            _ = d.co_units, d.unit
            return d

    def snapshot(self, code: str) -> dict[str, Any]:
        """Everything a failed operation must leave untouched: the row and its event rows."""
        with self.db.read() as s:
            d = demands.get(s, code)
            row = {c.key: getattr(d, c.key) for c in sa.inspect(Demand).column_attrs}
            counts = {m.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(m)
                                                .where(m.demand_id == d.id)) for m in EVENT_TABLES}
            co_units = sorted(u.id for u in d.co_units)
        return {"row": row, "events": counts, "co_units": co_units}


def make_ledger(path: Path) -> Ledger:
    db = make_database(path)
    return Ledger(db, make_town(db), make_people(db))


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path):
    """A fresh, migrated, empty SQLite database in this test's temporary directory."""
    database = make_database(tmp_path / "t.sqlite")
    yield database
    database.dispose()


@pytest.fixture
def town(db: Database) -> Town:
    return make_town(db)


@pytest.fixture
def people(db: Database, town: Town) -> People:
    return make_people(db)


@pytest.fixture
def ledger(db: Database, town: Town, people: People) -> Ledger:
    return Ledger(db, town, people)


@pytest.fixture(scope="module")
def module_ledger(tmp_path_factory: pytest.TempPathFactory):
    """One database shared by a module's tests that never commit a change."""
    led = make_ledger(tmp_path_factory.mktemp("shared") / "t.sqlite")
    yield led
    led.db.dispose()

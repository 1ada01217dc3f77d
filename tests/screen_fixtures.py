"""A small township with demands in every state, made through the services (for the GUI tests).

``build_screen_db`` is also handy by hand: ``python -m tests.screen_fixtures /tmp/x.sqlite 500``.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.db import Database, open_database
from app.models import Unit, User, Village
from app.services import demands, setup
from app.services.setup import VillageSpec
from app.vocab import DemandType, Level, Party, Role, Satisfaction, ScreeningResult

PASSWORD = "demo"
VILLAGES = [
    VillageSpec("柳树社区", "", ["柳树一网格", "柳树二网格"]),
    VillageSpec("桃园村", "", ["桃园一组", "桃园二组"]),
    VillageSpec("青龙村", "", ["青龙网格"]),
    VillageSpec("白鹤社区", "", ["白鹤东网格", "白鹤西网格"]),
    VillageSpec("新华村", "", []),
]
TOWNSHIP_UNITS = [("综合行政执法办", Level.TOWNSHIP), ("社会事务办", Level.TOWNSHIP),
                  ("区住房和城乡建设局", Level.DISTRICT)]
USERS = [
    ("admin", "王管理", [Role.ADMIN]),
    ("dengji", "李登记", [Role.REGISTRAR]),
    ("banli", "赵办理", [Role.HANDLER]),
    ("fenguan", "陈分管", [Role.DEPUTY_LEADER]),
    ("zhuyao", "周主要", [Role.CHIEF_LEADER]),
    ("duban", "孙督办", [Role.SUPERVISOR]),
    ("zonghe", "刘综合", list(Role)),
]
SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "德明", "玉梅", "永福", "春花", "国华"]
CONTENTS = ["小区路灯损坏，夜间出行不便", "门前排水沟堵塞，雨天积水", "咨询城乡居民医保缴费政策",
            "建议在村口增设公交站台", "邻居饲养犬只噪声扰民", "反映垃圾清运不及时", "道路破损需要修补",
            "投诉窗口办事效率低"]


@dataclass
class ScreenDb:
    db: Database
    path: Path

    def user(self, username: str) -> User:
        with self.db.read() as s:
            return s.scalars(sa.select(User).where(User.username == username)).one()


def build_screen_db(path: Path, demands_count: int = 60, seed: int = 3,
                    today: date | None = None) -> ScreenDb:
    """Create a township with five villages, one user per role, and ``demands_count`` demands."""
    today = today or date.today()
    rng = random.Random(seed)
    db = open_database(str(path))
    with db.write() as s:
        setup.init_township(s, "示范镇", "510902001", VILLAGES)
        for name, level in TOWNSHIP_UNITS:
            setup.ensure_unit(s, name, level)
        for username, name, roles in USERS:
            setup.add_user(s, None, username, name, roles, PASSWORD, check=False)
    with db.write() as s:
        actor = s.scalars(sa.select(User).where(User.username == "zonghe")).one()
        villages = list(s.scalars(sa.select(Village).order_by(Village.sort)))
        units = list(s.scalars(sa.select(Unit).order_by(Unit.id)))
        people = [(rng.choice(SURNAMES) + rng.choice(GIVEN), f"139{rng.randrange(10**8):08d}")
                  for _ in range(max(demands_count // 3, 4))]
        for i in range(demands_count):
            village = villages[i % len(villages)]
            grid = village.grids[i % len(village.grids)] if village.grids else None
            name, phone = people[i % len(people)] if i % 4 else rng.choice(people)
            received = today - timedelta(days=rng.randrange(0, 400))
            data = demands.DemandInput(
                type=rng.choice([DemandType.SUGGEST, DemandType.SOLVE, DemandType.COMPLAIN]),
                content=rng.choice(CONTENTS), received_on=received, village_id=village.id,
                grid_id=grid.id if grid else None, petitioner_name=name, petitioner_phone=phone,
                petitioner_address=f"{village.name}{rng.randrange(1, 30)}号")
            d = demands.register(s, actor, data, today=today)
            _advance(s, actor, d, rng.randrange(7), units, village, rng, today)
    return ScreenDb(db, Path(path))


def _advance(s, actor: User, d, stage: int, units: list[Unit], village: Village,  # type: ignore[no-untyped-def]
             rng: random.Random, today: date) -> None:
    """Walk one demand ``stage`` steps along: screened, assigned, transferred, signed, evaluated."""
    if stage == 0:
        return
    demands.screen(s, actor, d, ScreeningResult.VALID)
    demands.review(s, actor, d, ScreeningResult.REASONABLE)
    home = next(u for u in units if u.village_id == village.id)
    demands.assign(s, actor, d, home.id)
    if stage == 1:
        return
    if stage == 2:
        demands.transfer(s, actor, d, units[0].id, "村级无法解决，上移乡镇")
        demands.transfer(s, actor, d, units[-1].id, "涉及区级职能，继续上移")
        return
    demands.add_progress(s, actor, d, "已现场核实并安排处理", done_on=min(d.received_on + timedelta(days=2), today))
    demands.submit_signoff(s, actor, d, "已处理完毕")
    if stage == 3:
        return
    signed = min(d.received_on + timedelta(days=rng.randrange(3, 40)), today)
    for party in (Party.PETITIONER, Party.HANDLER, Party.DEPUTY_LEADER, Party.CHIEF_LEADER):
        demands.sign(s, actor, d, party, f"{party.label}签字人", signed_on=signed)
    if stage == 4:
        return
    result = Satisfaction.UNSATISFIED if stage == 6 else rng.choice(
        [Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY])
    demands.evaluate(s, actor, d, result, on=min(signed + timedelta(days=2), today))


if __name__ == "__main__":
    target = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    built = build_screen_db(target, n)
    print(f"{target}: {n} demands")

"""A realistic, deterministic demo database: villages, units, one user per role, and demands
over the last 24 months in every lifecycle state.

Bulk rows are written with executemany in one transaction, so 200,000 demands take well
under a minute. Deadlines come from the same calendar and rules the program uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app import deadlines
from app.db import Database
from app.errors import DomainError
from app.models import Base, Category, Channel, Demand, Unit, Village
from app.services import settings, setup
from app.services.audit import record
from app.services.calendar import load_calendar
from app.vocab import (
    AssignmentKind,
    DemandType,
    ExtensionStatus,
    Level,
    Party,
    Role,
    Satisfaction,
    ScreeningResult,
    ScreeningStage,
    Status,
)

DEMO_PASSWORD = "demo"
DEMO_USERS = [
    ("admin", "王建国", [Role.ADMIN]),
    ("dengji", "李晓燕", [Role.REGISTRAR]),
    ("banli", "张志强", [Role.HANDLER]),
    ("fenguan", "陈卫东", [Role.DEPUTY_LEADER]),
    ("zhuyao", "刘德明", [Role.CHIEF_LEADER]),
    ("duban", "赵纪平", [Role.SUPERVISOR]),
    ("zhuren", "周文静", [Role.REGISTRAR, Role.HANDLER, Role.ADMIN]),
]
VILLAGES = [
    ("柳树社区", ["第一网格", "第二网格", "第三网格"]), ("石城社区", ["第一网格", "第二网格"]),
    ("回风社区", ["第一网格", "第二网格", "第三网格"]), ("兴文村", ["一组网格", "二组网格"]),
    ("清江村", ["上片网格", "下片网格"]), ("白庙村", ["第一网格", "第二网格"]),
    ("双河村", ["第一网格", "第二网格"]), ("三江村", ["第一网格", "第二网格"]),
    ("龙背村", ["第一网格", "第二网格"]), ("梓潼村", ["第一网格"]), ("凤凰村", ["第一网格", "第二网格"]),
    ("新华村", ["第一网格", "第二网格"]), ("花溪村", ["第一网格"]), ("金山村", ["第一网格", "第二网格"]),
    ("玉堂村", ["第一网格"]), ("大和村", ["第一网格", "第二网格"]),
]
TOWNSHIP_UNITS = ["党政办公室", "综治中心", "农业农村办", "社会事务办", "规划建设办", "应急管理办", "经济发展办",
                  "派出所", "司法所", "市场监管所", "财政所"]
DISTRICT_UNITS = ["区住建局", "区交通运输局", "区水利局", "区民政局", "区人社局", "区教科局", "区卫健局",
                  "区自然资源局", "区城管执法局"]
CITY_UNITS = ["市住建局", "市交通运输局"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "建国华明丽芳军伟秀英志强海燕玉兰桂香德福春梅永红小平文杰俊凤云兵国庆淑珍家树光辉学成大勇素琴"
PROBLEMS: dict[str, list[tuple[str, str]]] = {
    "城市管理": [("路灯不亮已有半月，夜间出行不便", "尽快维修"), ("垃圾清运不及时，堆放发臭", "增加清运次数"),
              ("有人在小区内饲养家禽，气味和噪声扰民", "依法劝导处理"), ("排水沟堵塞，下雨积水漫进院坝", "疏通排水沟")],
    "社区治理": [("邻居违规搭建雨棚影响采光", "协调拆除"), ("小区电梯经常停运", "督促物业维修电梯"),
              ("物业服务差、收费不透明", "公开收费明细"), ("楼道堆放杂物存在消防隐患", "清理杂物")],
    "公共服务": [("孩子入学报名材料不清楚", "解释入学政策"), ("自来水浑浊有异味", "检测水质并解决"),
              ("医保异地报销办理困难", "指导办理报销"), ("在工地务工工资被拖欠三个月", "帮助追讨工资")],
    "政策兑现": [("家庭困难申请低保未获回复", "核实情况给予答复"), ("耕地地力补贴未到账", "核查补贴发放"),
              ("残疾人两项补贴停发", "查明原因恢复发放"), ("退役军人优待证办理进度", "告知办理进度")],
    "城乡建设": [("房屋墙体开裂属于危房", "纳入危房改造"), ("村道路面破损严重", "硬化修补道路"),
              ("项目施工占用耕地未补偿", "落实补偿"), ("不动产证办理时间过长", "加快办理")],
    "道路交通": [("路口缺少交通标志，多次发生剐蹭", "增设标志标线"), ("客运班车班次太少", "增加班次"),
              ("货车超载压坏村道", "加强治超"), ("桥梁护栏损坏存在安全隐患", "修复护栏")],
    "产业发展": [("购买的种子出苗率低", "鉴定种子质量"), ("合作社分红不公开", "公开账目"),
              ("土地流转租金未按时支付", "协调支付租金"), ("办理营业执照跑了多趟", "简化办理流程")],
    "其他": [("对政策有疑问希望当面解答", "安排人员解答")],
}
SOLVABLE = [k for k in PROBLEMS if k != "其他"]
SUGGESTIONS = ["建议在{v}增设健身器材", "建议在{v}开设老年食堂", "建议{v}村道安装减速带", "建议定期在{v}开展义诊",
               "建议在{v}增设公交站点", "建议{v}设立快递集中收发点"]
CONSULTS = ["咨询城乡居民养老保险缴费标准", "咨询高龄补贴申请条件", "咨询农村建房审批流程", "咨询孩子转学需要的材料",
            "咨询医保缴费时间", "咨询退役军人优待证办理"]
METHODS = ["电话回访", "上门回访", "短信回访", "当面评价"]


@dataclass
class DemoSpec:
    demands: int = 3000
    seed: int = 1
    township: str = "示范镇"
    code: str = "511902104000"
    today: date = field(default_factory=date.today)


def _ts(day: date, rng: random.Random) -> str:
    """A time of day during office hours, in SQLAlchemy's SQLite DATETIME format."""
    minute = int(rng.random() * 600)
    return f"{day.isoformat()} {8 + minute // 60:02d}:{minute % 60:02d}:00.000000"


class _Clock:
    """Event times of one demand: in office hours, never going backwards, never after now."""

    def __init__(self, rng: random.Random, today: date, now_minute: int) -> None:
        self.rng, self.today, self.now_minute = rng, today, now_minute
        self.day: date | None = None
        self.minute = 0

    def at(self, day: date) -> str:
        if self.day is not None and day <= self.day:
            day, minute = self.day, self.minute + 1 + int(self.rng.random() * 30)
        else:
            minute = 480 + int(self.rng.random() * 600)
        if day >= self.today:
            day, minute = self.today, max(min(minute, self.now_minute), self.minute if self.day == self.today else 0)
        self.day, self.minute = day, min(minute, 1439)
        return f"{day.isoformat()} {self.minute // 60:02d}:{self.minute % 60:02d}:00.000000"


class _Bulk:
    """Collects rows per table and writes them with executemany."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = {}
        self.cols: dict[str, tuple[str, ...]] = {}

    def add(self, table: str, **values: Any) -> None:
        if table not in self.cols:
            self.cols[table] = tuple(values)
            self.rows[table] = []
        self.rows[table].append(tuple(values.values()))

    def flush(self, conn: sa.Connection) -> None:
        for table, rows in self.rows.items():
            cols = self.cols[table]
            if conn.dialect.name == "sqlite":
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                conn.exec_driver_sql(sql, rows)
            else:
                conn.execute(Base.metadata.tables[table].insert(), [dict(zip(cols, r, strict=True)) for r in rows])
        self.rows.clear()
        self.cols.clear()


def generate(db: Database, spec: DemoSpec) -> str:
    rng = random.Random(spec.seed)
    today = spec.today
    with db.write() as s:
        from app.services.setup import VillageSpec

        if s.scalar(sa.select(sa.func.count()).select_from(Demand)):
            raise DomainError("演示数据只写入空的数据库；该数据库已有诉求")

        town = setup.init_township(s, spec.township, spec.code,
                                   [VillageSpec(n, f"{spec.code[:9]}{i + 1:03d}", g) for i, (n, g) in enumerate(VILLAGES)])
        for name in TOWNSHIP_UNITS:
            setup.ensure_unit(s, f"{spec.township}{name}", Level.TOWNSHIP)
        for name in DISTRICT_UNITS:
            setup.ensure_unit(s, name, Level.DISTRICT)
        for name in CITY_UNITS:
            setup.ensure_unit(s, name, Level.CITY)
        users = {}
        for username, name, roles in DEMO_USERS:
            users[username] = setup.add_user(s, None, username, name, roles, DEMO_PASSWORD, check=False).id
        record(s, None, "demo", "township", town.id, summary=f"生成演示数据 {spec.demands} 件（种子 {spec.seed}）")
        villages = list(s.scalars(sa.select(Village).order_by(Village.sort)))
        grids = {v.id: [(g.id, g.name) for g in v.grids] for v in villages}
        units = list(s.scalars(sa.select(Unit)))
        village_unit = {u.village_id: u.id for u in units if u.level is Level.VILLAGE}
        by_level = {lv: [u.id for u in units if u.level is lv] for lv in Level}
        cats = list(s.execute(sa.select(Category.id, Category.parent_id, Category.name, Category.depth)))
        parent = {c[0]: c[1] for c in cats}
        name_of = {c[0]: c[2] for c in cats}
        leaves = [c[0] for c in cats if c[3] == 3]

        def top_name(cid: int) -> str:
            while parent.get(cid) is not None:
                cid = parent[cid]
            return name_of[cid]

        leaves_by_top: dict[str, list[int]] = {}
        for leaf in leaves:
            leaves_by_top.setdefault(top_name(leaf), []).append(leaf)
        channels = list(s.execute(sa.select(Channel.id, Channel.name).order_by(Channel.sort)))
        channel_weights = [14, 6, 4, 10, 22, 6, 14, 12, 9, 3, 0, 0][: len(channels)]
        cal = load_calendar(s)
        rules = settings.get(s, "deadline_rules")
        town_id, town_code = town.id, town.code

    n = spec.demands
    now = datetime.now()
    now_minute = now.hour * 60 + now.minute if today == now.date() else 1439
    # Petitioners: about one per 1.4 demands; a few come back again and again.
    n_people = max(20, int(n / 1.15))
    people = []
    bulk = _Bulk()
    for pid in range(1, n_people + 1):
        village = rng.choice(villages)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        address = f"{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"
        people.append((pid, village.id))
        bulk.add("petitioner", id=pid, name=name, phone=phone, address=address, village_id=village.id,
                 created_at=_ts(today - timedelta(days=730), rng))
    frequent = people[: max(3, n_people // 50)]

    start = today - timedelta(days=729)
    days = sorted(start + timedelta(days=rng.randrange(730)) for _ in range(n))
    seq_by_year: dict[int, int] = {}
    last_seen: dict[int, date] = {}
    counts = dict.fromkeys(Status, 0)
    did = 0
    for received in days:
        did += 1
        person_id, village_id = rng.choice(frequent) if rng.random() < 0.04 else rng.choice(people)
        seq_by_year[received.year] = seq_by_year.get(received.year, 0) + 1
        code = f"{town_code}-{received.year}-{seq_by_year[received.year]:05d}"
        r = rng.random()
        dtype = (DemandType.CONSULT if r < 0.15 else DemandType.SUGGEST if r < 0.33
                 else DemandType.SOLVE if r < 0.88 else DemandType.COMPLAIN)
        if dtype is DemandType.CONSULT:
            top = rng.choice(["政策兑现", "公共服务", "其他"])
        elif dtype is DemandType.SUGGEST:
            top = rng.choice(["公共服务", "城市管理", "道路交通", "社区治理"])
        else:
            top = rng.choice(SOLVABLE)
        category = rng.choice(leaves_by_top[top])
        vname = next(v.name for v in villages if v.id == village_id)
        if dtype is DemandType.CONSULT:
            content = rng.choice(CONSULTS) + "。"
        elif dtype is DemandType.SUGGEST:
            content = rng.choice(SUGGESTIONS).format(v=vname) + "，方便群众生活。"
        else:
            problem, hope = rng.choice(PROBLEMS[top])
            content = f"反映{vname}{rng.randrange(1, 12)}组{problem}，希望{hope}。"
            if dtype is DemandType.COMPLAIN:
                content = "投诉" + content[2:]
        channel_id = rng.choices([c[0] for c in channels], weights=channel_weights)[0]
        grid_list = grids[village_id]
        grid_id = rng.choice(grid_list)[0] if grid_list else None
        due = deadlines.due_date(cal, rules, "township", dtype.value, received)
        prev = last_seen.get(person_id)
        is_repeat = prev is not None and (received - prev).days <= 90
        last_seen[person_id] = received
        age = (today - received).days
        clock = _Clock(rng, today, now_minute)
        created = clock.at(received)

        row: dict[str, Any] = dict(
            id=did, code=code, township_id=town_id, type=dtype.value, category_id=category, channel_id=channel_id,
            content=content, received_on=received, village_id=village_id, grid_id=grid_id, petitioner_id=person_id,
            registrar_id=users["dengji"], level=None, first_level=None, unit_id=None, status=Status.REGISTERED.value,
            rule_set="township", external_ref="", deadline=due.due, deadline_provisional=due.provisional,
            paused_since=None, screening_result=None, review_result=None, duplicate_of_id=None, is_repeat=is_repeat,
            answer="", result_summary="", remarks="", original_no="", signoff_round=1, closed_on=None,
            satisfaction=None, transfer_count=0, extension_days=0, rework_count=0, supervised=False,
            created_at=created, updated_at=created, version=1,
        )
        status = _lifecycle(rng, clock, bulk, row, cal, rules, today, age, users, village_unit, by_level, due.due)
        counts[status] += 1
        bulk.add("demand", **row)
        if did % 20000 == 0:
            _flush(db, bulk)
    for year, last in seq_by_year.items():
        bulk.add("case_counter", township_id=town_id, year=year, last_seq=last)
    _flush(db, bulk)
    states = "，".join(f"{s.label} {c}" for s, c in counts.items() if c)
    return f"已生成演示数据：{spec.township}，村(社区) {len(villages)} 个，诉求 {n} 件（{states}）；账号见 README，密码均为 {DEMO_PASSWORD}"


def _flush(db: Database, bulk: _Bulk) -> None:
    # Petitioners first, then demands, then events (foreign keys are checked per statement).
    order = ["petitioner", "demand", "demand_co_unit", "screening", "assignment", "progress_entry", "extension",
             "pause", "signoff", "evaluation", "revisit", "supervision", "case_counter"]
    with db.engine.connect() as conn, conn.begin():
        rows, cols = bulk.rows, bulk.cols
        for table in order:
            if table in rows:
                sub = _Bulk()
                sub.rows, sub.cols = {table: rows[table]}, {table: cols[table]}
                sub.flush(conn)
        if conn.dialect.name == "postgresql":
            # Rows were given explicit ids: move each id sequence past them.
            for table in ("petitioner", "demand"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))")
    bulk.rows.clear()
    bulk.cols.clear()


def _lifecycle(rng: random.Random, clock: _Clock, bulk: _Bulk, d: dict[str, Any], cal: Any, rules: dict, today: date, age: int,
               users: dict[str, int], village_unit: dict[int, int], by_level: dict[Level, list[int]],
               due: date) -> Status:
    """Walk one demand through its life as far as its age allows; write the event rows."""
    did, received = d["id"], d["received_on"]

    def day_after(base: date, lo: int, hi: int) -> date:
        return min(today, base + timedelta(days=lo + int(rng.random() * (hi - lo + 1))))

    ts = clock.at

    # Recent demands are still early in their life.
    if age <= 1 and rng.random() < 0.6:
        d["status"] = Status.REGISTERED.value
        return Status.REGISTERED
    screened_on = day_after(received, 0, 2)
    if d["type"] == DemandType.CONSULT.value and rng.random() < 0.7:
        d["answer"] = d["result_summary"] = "已当场解答政策规定及办理渠道，诉求人表示清楚。"
        d["screening_result"] = ScreeningResult.VALID.value
        d["level"] = None
        return _signoff(rng, clock, bulk, d, cal, rules, today, received, users, due)
    if rng.random() < 0.05:
        result = rng.choice([ScreeningResult.DUPLICATE, ScreeningResult.FALSE, ScreeningResult.OUT_OF_SCOPE])
        d["status"], d["screening_result"] = Status.INVALID.value, result.value
        if result is ScreeningResult.DUPLICATE and did > 1:
            d["duplicate_of_id"] = rng.randrange(max(1, did - 500), did)
            d["is_repeat"] = True
        bulk.add("screening", demand_id=did, at=ts(screened_on), stage=ScreeningStage.INITIAL.value,
                 result=result.value, explanation="已向诉求人解释说明，诉求人表示理解。",
                 duplicate_of_id=d["duplicate_of_id"], actor_id=users["dengji"])
        return Status.INVALID
    bulk.add("screening", demand_id=did, at=ts(screened_on), stage=ScreeningStage.INITIAL.value,
             result=ScreeningResult.VALID.value, explanation="", duplicate_of_id=None, actor_id=users["dengji"])
    d["screening_result"] = ScreeningResult.VALID.value
    if age <= 2 and rng.random() < 0.5:
        d["status"] = Status.SCREENED.value
        return Status.SCREENED
    review = rng.choices([ScreeningResult.REASONABLE, ScreeningResult.PARTLY_REASONABLE], weights=[85, 15])[0]
    bulk.add("screening", demand_id=did, at=ts(screened_on), stage=ScreeningStage.REVIEW.value,
             result=review.value, explanation="", duplicate_of_id=None, actor_id=users["fenguan"])
    d["review_result"] = review.value
    if age <= 3 and rng.random() < 0.4:
        d["status"] = Status.PENDING_ASSIGNMENT.value
        return Status.PENDING_ASSIGNMENT
    # 交办: small matters to the village, harder ones to the township, big ones up.
    r = rng.random()
    level = Level.VILLAGE if r < 0.55 else Level.TOWNSHIP if r < 0.9 else Level.DISTRICT
    unit = village_unit.get(d["village_id"]) if level is Level.VILLAGE else rng.choice(by_level[level])
    if unit is None:
        level, unit = Level.TOWNSHIP, rng.choice(by_level[Level.TOWNSHIP])
    assigned_on = day_after(screened_on, 0, 1)
    bulk.add("assignment", demand_id=did, at=ts(assigned_on), kind=AssignmentKind.ASSIGN.value, from_unit_id=None,
             to_unit_id=unit, from_level=None, level=level.value, reason="", actor_id=users["dengji"])
    d.update(level=level.value, first_level=level.value, unit_id=unit, status=Status.HANDLING.value)
    if level is Level.TOWNSHIP and rng.random() < 0.25:
        d["co_unit"] = rng.choice(by_level[Level.TOWNSHIP])
        if d["co_unit"] != unit:
            bulk.add("demand_co_unit", demand_id=did, unit_id=d["co_unit"])
        del d["co_unit"]
    # Transfers: some go up (once or twice).
    t = rng.random()
    moves = 2 if t < 0.02 else 1 if t < 0.1 else 0
    cur_level, cur_unit, moved_on = level, unit, assigned_on
    for _ in range(moves):
        nxt = {Level.VILLAGE: Level.TOWNSHIP, Level.TOWNSHIP: Level.DISTRICT, Level.DISTRICT: Level.CITY,
               Level.CITY: Level.CITY}[cur_level]
        to_unit = rng.choice([u for u in by_level[nxt] if u != cur_unit])
        moved_on = day_after(moved_on, 1, 5)
        kind = AssignmentKind.TRANSFER_UP if nxt is not cur_level else AssignmentKind.TRANSFER
        bulk.add("assignment", demand_id=did, at=ts(moved_on), kind=kind.value, from_unit_id=cur_unit,
                 to_unit_id=to_unit, from_level=cur_level.value, level=nxt.value,
                 reason="涉及职能超出本级权限，需上级部门协调解决", actor_id=users["banli"])
        cur_level, cur_unit = nxt, to_unit
        d["transfer_count"] += 1
    d.update(level=cur_level.value, unit_id=cur_unit)
    # Progress entries.
    for k in range(rng.choice((1, 1, 2, 3))):
        on = day_after(assigned_on, 1 + 3 * k, 4 + 5 * k)
        bulk.add("progress_entry", demand_id=did, at=ts(on), done_on=on,
                 text=rng.choice(["已到现场核实情况", "已联系相关单位协调", "已制定整改方案", "正在组织施工整改",
                                  "已与诉求人当面沟通"]), actor_id=users["banli"])
    # Extensions and pauses.
    if rng.random() < 0.05:
        days = rng.choice((5, 10))
        new_due = cal.add_workdays(due, days)
        req = day_after(assigned_on, 2, 10)
        bulk.add("extension", demand_id=did, at=ts(req), days=days, reason="需协调多个部门，工作量大",
                 status=ExtensionStatus.APPROVED.value, requested_by_id=users["banli"], approver_id=users["fenguan"],
                 decided_at=ts(req), old_deadline=due, new_deadline=new_due)
        due = new_due
        d["extension_days"] = days
    if rng.random() < 0.02:
        p_on = day_after(assigned_on, 1, 5)
        if (today - p_on).days < 10:
            d["paused_since"] = p_on
            resumed = None
        else:
            resumed = p_on + timedelta(days=rng.randint(3, 10))
            due = deadlines.shift(cal, "workday", due, deadlines.paused_length(cal, "workday", p_on, resumed))
        bulk.add("pause", demand_id=did, at=ts(p_on), reason="等待诉求人补充材料", paused_on=p_on,
                 resumed_on=resumed, actor_id=users["banli"])
    d["deadline"] = due
    d["deadline_provisional"] = cal.provisional(received, due)
    # How far did it get? Older demands are mostly finished; a few run late or stay open.
    remaining_age = (today - assigned_on).days
    span = max(1, (due - received).days)
    if d["paused_since"] is not None or rng.random() > min(0.97, remaining_age / (span * 0.9)):
        if rng.random() < 0.15:
            d["supervised"] = True
            bulk.add("supervision", demand_id=did, at=ts(today), note="请加快办理，按期办结", actor_id=users["duban"])
        return Status.HANDLING
    d["result_summary"] = "已按诉求人要求办理完毕，现场复核问题已解决。"
    return _signoff(rng, clock, bulk, d, cal, rules, today, assigned_on, users, due)


def _signoff(rng: random.Random, clock: _Clock, bulk: _Bulk, d: dict[str, Any], cal: Any, rules: dict, today: date, base: date,
             users: dict[str, int], due: date) -> Status:
    did = d["id"]
    late = rng.random() < 0.07
    span = max(0, (due - base).days)
    finished = base + timedelta(days=rng.randint(0, span) if not late else span + rng.randint(1, 12))
    if finished >= today:
        d["status"] = Status.AWAITING_SIGNOFF.value if finished - today < timedelta(days=5) else Status.HANDLING.value
        return Status(d["status"])
    signed = finished
    names = {Party.PETITIONER: "诉求人", Party.HANDLER: "张志强", Party.DEPUTY_LEADER: "陈卫东",
             Party.CHIEF_LEADER: "刘德明"}
    recorders = {Party.PETITIONER: "dengji", Party.HANDLER: "banli", Party.DEPUTY_LEADER: "fenguan",
                 Party.CHIEF_LEADER: "zhuyao"}
    rnd = d["signoff_round"]
    for party in (Party.PETITIONER, Party.HANDLER, Party.DEPUTY_LEADER, Party.CHIEF_LEADER):
        signed = min(today, signed + timedelta(days=rng.randint(0, 1)))
        bulk.add("signoff", demand_id=did, at=clock.at(signed), round=rnd, party=party.value,
                 signer_name=names[party], signed_on=signed, opinion="同意", refused=False,
                 recorded_by_id=users[recorders[party]])
    d.update(status=Status.CLOSED.value, closed_on=signed)
    if (today - signed).days < 3 or rng.random() < 0.1:
        return Status.CLOSED
    ev_on = min(today, signed + timedelta(days=rng.randint(1, 7)))
    r = rng.random()
    result = Satisfaction.SATISFIED if r < 0.82 else Satisfaction.BASICALLY if r < 0.95 else Satisfaction.UNSATISFIED
    bulk.add("evaluation", demand_id=did, at=clock.at(ev_on), result=result.value, evaluated_on=ev_on,
             method=rng.choice(METHODS), comment="", actor_id=users["dengji"])
    d["satisfaction"] = result.value
    if result is Satisfaction.UNSATISFIED:
        rework_due = deadlines.due_date(cal, rules, "township", deadlines.REWORK, ev_on)
        d.update(status=Status.REWORK.value, rework_count=1, signoff_round=rnd + 1, closed_on=None,
                 deadline=rework_due.due, deadline_provisional=rework_due.provisional)
        if rework_due.due < today and (rng.random() < 0.8 or (today - rework_due.due).days > 20):
            bulk.add("progress_entry", demand_id=did, at=clock.at(ev_on), done_on=ev_on,
                     text="针对不满意意见重新整改", actor_id=users["banli"])
            d["result_summary"] = "二次整改完成，诉求人认可。"
            again = min(today, ev_on + timedelta(days=rng.randint(2, 9)))
            for party in (Party.PETITIONER, Party.HANDLER, Party.DEPUTY_LEADER, Party.CHIEF_LEADER):
                bulk.add("signoff", demand_id=did, at=clock.at(again), round=rnd + 1, party=party.value,
                         signer_name=names[party], signed_on=again, opinion="同意", refused=False,
                         recorded_by_id=users[recorders[party]])
            ev2 = min(today, again + timedelta(days=2))
            bulk.add("evaluation", demand_id=did, at=clock.at(ev2), result=Satisfaction.BASICALLY.value,
                     evaluated_on=ev2, method="上门回访", comment="整改后基本满意", actor_id=users["dengji"])
            d.update(status=Status.EVALUATED.value, closed_on=again, satisfaction=Satisfaction.BASICALLY.value)
            return Status.EVALUATED
        return Status.REWORK
    d["status"] = Status.EVALUATED.value
    if rng.random() < 0.1 and (today - ev_on).days > 30:
        visit = ev_on + timedelta(days=rng.randint(20, 30))
        bulk.add("revisit", demand_id=did, at=clock.at(visit), visited_on=visit,
                 finding="回头看：问题未反弹，群众满意", problem_recurred=False, actor_id=users["duban"])
    return Status.EVALUATED

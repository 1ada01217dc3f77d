"""The township's own lists and accounts, as the 设置 screen changes them.

Each change checks the actor's role (``settings`` for lists and rules, ``users`` for
accounts), refuses what would break existing records (a village or category that demands
use cannot be deleted), and writes an audit event with the values before and after.
``snapshot`` reads everything the screen shows in one go.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import access, deadlines
from app.errors import DomainError, NotFound, ValidationError
from app.models import (
    Assignment,
    Category,
    Channel,
    Demand,
    Grid,
    Holiday,
    Petitioner,
    Unit,
    User,
    Village,
    demand_co_unit,
)
from app.personal import normalise_phone, phone_problem
from app.services import settings, setup
from app.services.audit import record
from app.services.calendar import Coverage, coverage
from app.vocab import DemandType, Level, Role

RULE_KEYS: tuple[tuple[str, str], ...] = (
    *((t.value, t.label) for t in DemandType),
    (deadlines.REWORK, "不满意复办"),
    (deadlines.EXTENSION_MAX, "累计延期上限"),
)
UNIT_LABELS = {deadlines.WORKDAY: "工作日", deadlines.CALENDAR: "自然日"}
INT_SETTINGS = {"due_soon_days": (0, 30), "repeat_window_days": (1, 3650)}


def _name(value: str, field_name: str, limit: int = 60) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(field_name, "不能为空")
    if len(value) > limit:
        raise ValidationError(field_name, f"不能超过 {limit} 个字")
    return value


def _get(session: Session, model: Any, id_: int, what: str) -> Any:
    row = session.get(model, id_)
    if row is None:
        raise NotFound(f"找不到{what}（{id_}）")
    return row


# -- township and simple settings -------------------------------------------------------


def rename_township(session: Session, actor: User | None, name: str) -> None:
    access.require(actor, "settings")
    town = setup.township(session)
    name = _name(name, "乡镇名称")
    before = town.name
    town.name = name
    record(session, actor, "update", "township", town.id, summary=f"乡镇名称：{before} → {name}",
           before={"name": before}, after={"name": name})


def put_setting(session: Session, actor: User | None, key: str, value: Any) -> None:
    """A center-wide setting, checked: whole days within range for the numeric ones."""
    access.require(actor, "settings")
    if key in INT_SETTINGS:
        low, high = INT_SETTINGS[key]
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ValidationError(settings.SPECS[key].title, "应为整数") from None
        if not low <= value <= high:
            raise ValidationError(settings.SPECS[key].title, f"应在 {low} 到 {high} 之间")
    elif isinstance(value, str):
        value = value.strip()
    settings.put(session, actor, key, value)


# -- villages and grids --------------------------------------------------------------------


def add_village(session: Session, actor: User | None, name: str, code: str = "") -> Village:
    access.require(actor, "settings")
    name = _name(name, "村(社区)名称")
    town = setup.township(session)
    if session.scalars(sa.select(Village).where(Village.name == name)).first() is not None:
        raise ValidationError("村(社区)名称", f"“{name}”已存在")
    sort = (session.scalar(sa.select(sa.func.max(Village.sort))) or 0) + 1
    village = setup.add_village(session, town, setup.VillageSpec(name, code.strip()), sort=sort)
    record(session, actor, "create", "village", village.id, summary=f"新增村(社区) {name}",
           after={"name": name, "code": code.strip()})
    return village


def update_village(session: Session, actor: User | None, village_id: int, name: str, code: str = "") -> Village:
    """Rename a village (its committee unit follows when it still has the derived name)."""
    access.require(actor, "settings")
    village = _get(session, Village, village_id, "村(社区)")
    name = _name(name, "村(社区)名称")
    clash = session.scalars(sa.select(Village).where(Village.name == name, Village.id != village.id)).first()
    if clash is not None:
        raise ValidationError("村(社区)名称", f"“{name}”已存在")
    before = {"name": village.name, "code": village.code or ""}
    old_unit = setup.village_unit_name(village.name)
    village.name, village.code, village.initials = name, code.strip() or None, setup.initials(name)
    unit = session.scalars(sa.select(Unit).where(Unit.village_id == village.id, Unit.name == old_unit)).first()
    if unit is not None and before["name"] != name:
        unit.name = setup.village_unit_name(name)
    record(session, actor, "update", "village", village.id, summary=f"修改村(社区) {before['name']}",
           before=before, after={"name": name, "code": code.strip()})
    return village


def delete_village(session: Session, actor: User | None, village_id: int) -> None:
    """Only a village no demand refers to (a mistaken entry) can be deleted."""
    access.require(actor, "settings")
    village = _get(session, Village, village_id, "村(社区)")
    used = session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.village_id == village.id)) or 0
    if used:
        raise DomainError(f"“{village.name}”已有 {used} 件诉求，不能删除")
    units = list(session.scalars(sa.select(Unit).where(Unit.village_id == village.id)))
    for unit in units:
        if _unit_in_use(session, unit.id):
            raise DomainError(f"“{village.name}”的责任单位“{unit.name}”已有诉求或用户，不能删除；可停用该单位")
    session.execute(sa.update(Petitioner).where(Petitioner.village_id == village.id).values(village_id=None))
    for unit in units:
        session.delete(unit)
    for grid in list(village.grids):
        session.delete(grid)
    record(session, actor, "delete", "village", village.id, summary=f"删除村(社区) {village.name}",
           before={"name": village.name})
    session.delete(village)
    session.flush()


def _grid_fields(name: str, worker_name: str, worker_phone: str) -> tuple[str, str, str]:
    name = _name(name, "网格名称")
    problem = phone_problem(worker_phone)
    if problem:
        raise ValidationError("网格员电话", problem)
    return name, worker_name.strip(), normalise_phone(worker_phone)


def add_grid(session: Session, actor: User | None, village_id: int, name: str, worker_name: str = "",
             worker_phone: str = "") -> Grid:
    access.require(actor, "settings")
    village = _get(session, Village, village_id, "村(社区)")
    name, worker_name, worker_phone = _grid_fields(name, worker_name, worker_phone)
    if any(g.name == name for g in village.grids):
        raise ValidationError("网格名称", f"“{village.name}”已有“{name}”")
    grid = Grid(village_id=village.id, name=name, worker_name=worker_name, worker_phone=worker_phone)
    session.add(grid)
    session.flush()
    record(session, actor, "create", "grid", grid.id, summary=f"新增网格 {village.name} › {name}",
           after={"name": name, "worker_name": worker_name, "worker_phone": worker_phone})
    return grid


def update_grid(session: Session, actor: User | None, grid_id: int, name: str, worker_name: str = "",
                worker_phone: str = "") -> Grid:
    access.require(actor, "settings")
    grid = _get(session, Grid, grid_id, "网格")
    name, worker_name, worker_phone = _grid_fields(name, worker_name, worker_phone)
    if any(g.name == name and g.id != grid.id for g in grid.village.grids):
        raise ValidationError("网格名称", f"“{grid.village.name}”已有“{name}”")
    before = {"name": grid.name, "worker_name": grid.worker_name, "worker_phone": grid.worker_phone}
    grid.name, grid.worker_name, grid.worker_phone = name, worker_name, worker_phone
    record(session, actor, "update", "grid", grid.id, summary=f"修改网格 {grid.village.name} › {before['name']}",
           before=before, after={"name": name, "worker_name": worker_name, "worker_phone": worker_phone})
    return grid


def delete_grid(session: Session, actor: User | None, grid_id: int) -> None:
    access.require(actor, "settings")
    grid = _get(session, Grid, grid_id, "网格")
    used = session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.grid_id == grid.id)) or 0
    if used:
        raise DomainError(f"网格“{grid.name}”已有 {used} 件诉求，不能删除")
    record(session, actor, "delete", "grid", grid.id, summary=f"删除网格 {grid.village.name} › {grid.name}",
           before={"name": grid.name})
    session.delete(grid)
    session.flush()


# -- units ------------------------------------------------------------------------------------


def _unit_in_use(session: Session, unit_id: int) -> bool:
    checks = (
        sa.select(Demand.id).where(Demand.unit_id == unit_id),
        sa.select(Assignment.id).where(sa.or_(Assignment.to_unit_id == unit_id, Assignment.from_unit_id == unit_id)),
        sa.select(demand_co_unit.c.demand_id).where(demand_co_unit.c.unit_id == unit_id),
        sa.select(User.id).where(User.unit_id == unit_id),
    )
    return any(session.execute(q.limit(1)).first() is not None for q in checks)


def add_unit(session: Session, actor: User | None, name: str, level: Level, village_id: int | None = None) -> Unit:
    access.require(actor, "settings")
    name = _name(name, "单位名称")
    if session.scalars(sa.select(Unit).where(Unit.name == name)).first() is not None:
        raise ValidationError("单位名称", f"“{name}”已存在")
    if village_id is not None:
        _get(session, Village, village_id, "村(社区)")
    unit = Unit(name=name, level=level, village_id=village_id)
    session.add(unit)
    session.flush()
    record(session, actor, "create", "unit", unit.id, summary=f"新增责任单位 {name}",
           after={"name": name, "level": level, "village_id": village_id})
    return unit


def update_unit(session: Session, actor: User | None, unit_id: int, name: str, level: Level,
                active: bool = True, village_id: int | None = None) -> Unit:
    access.require(actor, "settings")
    unit = _get(session, Unit, unit_id, "责任单位")
    name = _name(name, "单位名称")
    clash = session.scalars(sa.select(Unit).where(Unit.name == name, Unit.id != unit.id)).first()
    if clash is not None:
        raise ValidationError("单位名称", f"“{name}”已存在")
    before = {"name": unit.name, "level": unit.level, "active": unit.active, "village_id": unit.village_id}
    unit.name, unit.level, unit.active, unit.village_id = name, level, active, village_id
    record(session, actor, "update", "unit", unit.id, summary=f"修改责任单位 {before['name']}",
           before=before, after={"name": name, "level": level, "active": active, "village_id": village_id})
    return unit


# -- categories and channels ---------------------------------------------------------------


def add_category(session: Session, actor: User | None, parent_id: int | None, name: str) -> Category:
    access.require(actor, "settings")
    name = _name(name, "类别名称", 40)
    depth = 1
    if parent_id is not None:
        parent = _get(session, Category, parent_id, "上级类别")
        depth = parent.depth + 1
        if depth > 3:
            raise ValidationError("诉求类别", "类别最多三级")
    siblings = sa.select(Category).where(
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id)
    if any(c.name == name for c in session.scalars(siblings)):
        raise ValidationError("类别名称", f"同一上级下已有“{name}”")
    sort = (session.scalar(sa.select(sa.func.max(Category.sort)).where(
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id)) or 0) + 1
    cat = Category(parent_id=parent_id, name=name, depth=depth, sort=sort)
    session.add(cat)
    session.flush()
    record(session, actor, "create", "category", cat.id, summary=f"新增{depth}级类别 {name}",
           after={"name": name, "parent_id": parent_id})
    return cat


def rename_category(session: Session, actor: User | None, category_id: int, name: str) -> Category:
    access.require(actor, "settings")
    cat = _get(session, Category, category_id, "诉求类别")
    name = _name(name, "类别名称", 40)
    siblings = sa.select(Category).where(
        Category.parent_id.is_(None) if cat.parent_id is None else Category.parent_id == cat.parent_id,
        Category.id != cat.id)
    if any(c.name == name for c in session.scalars(siblings)):
        raise ValidationError("类别名称", f"同一上级下已有“{name}”")
    before = cat.name
    cat.name = name
    record(session, actor, "update", "category", cat.id, summary=f"类别更名：{before} → {name}",
           before={"name": before}, after={"name": name})
    return cat


def delete_category(session: Session, actor: User | None, category_id: int) -> int:
    """Delete a category and its sub-categories when no demand uses any of them; returns how many."""
    access.require(actor, "settings")
    from app.services.queries import descendant_categories

    cat = _get(session, Category, category_id, "诉求类别")
    ids = descendant_categories(session, [cat.id])
    used = session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.category_id.in_(ids))) or 0
    if used:
        raise DomainError(f"类别“{cat.name}”（含下级）已有 {used} 件诉求使用，不能删除；可改名")
    record(session, actor, "delete", "category", cat.id, summary=f"删除类别 {cat.name}（含下级 {len(ids) - 1} 个）",
           before={"name": cat.name})
    by_depth = sorted(session.scalars(sa.select(Category).where(Category.id.in_(ids))), key=lambda c: -c.depth)
    for c in by_depth:
        session.delete(c)
        session.flush()
    return len(ids)


def add_channel(session: Session, actor: User | None, name: str) -> Channel:
    access.require(actor, "settings")
    name = _name(name, "来源名称", 30)
    if session.scalars(sa.select(Channel).where(Channel.name == name)).first() is not None:
        raise ValidationError("来源名称", f"“{name}”已存在")
    sort = (session.scalar(sa.select(sa.func.max(Channel.sort))) or 0) + 1
    channel = Channel(name=name, sort=sort)
    session.add(channel)
    session.flush()
    record(session, actor, "create", "channel", channel.id, summary=f"新增诉求来源 {name}", after={"name": name})
    return channel


def update_channel(session: Session, actor: User | None, channel_id: int, name: str, active: bool) -> Channel:
    access.require(actor, "settings")
    channel = _get(session, Channel, channel_id, "诉求来源")
    name = _name(name, "来源名称", 30)
    clash = session.scalars(sa.select(Channel).where(Channel.name == name, Channel.id != channel.id)).first()
    if clash is not None:
        raise ValidationError("来源名称", f"“{name}”已存在")
    before = {"name": channel.name, "active": channel.active}
    channel.name, channel.active = name, active
    record(session, actor, "update", "channel", channel.id, summary=f"修改诉求来源 {before['name']}",
           before=before, after={"name": name, "active": active})
    return channel


# -- deadline rules ----------------------------------------------------------------------------


def set_rule(session: Session, actor: User | None, rule_set: str, key: str, days: int, unit: str) -> dict[str, Any]:
    """Change one rule (days and 工作日/自然日) of one rule set; returns the new rules."""
    access.require(actor, "settings")
    rules = copy.deepcopy(settings.get(session, "deadline_rules"))
    if rule_set not in rules:
        raise ValidationError("时限规则", f"没有规则组“{rule_set}”")
    if key not in dict(RULE_KEYS):
        raise ValidationError("时限规则", f"没有规则项“{key}”")
    if unit not in UNIT_LABELS:
        raise ValidationError("计算方式", "应为工作日或自然日")
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError("期限天数", "应为整数") from None
    if not 0 <= days <= 365:
        raise ValidationError("期限天数", "应在 0 到 365 之间")
    rules[rule_set][key] = {"days": days, "unit": unit}
    settings.put(session, actor, "deadline_rules", rules)
    return rules


# -- users ---------------------------------------------------------------------------------------


def _active_admins(session: Session, excluding: int | None = None) -> int:
    users = session.scalars(sa.select(User).where(User.active.is_(True)))
    return sum(1 for u in users if Role.ADMIN in u.role_set() and u.id != excluding)


def add_user(session: Session, actor: User | None, username: str, name: str, roles: list[Role], password: str,
             unit_id: int | None = None) -> User:
    return setup.add_user(session, actor, username, name, roles, password, unit_id)


def update_user(session: Session, actor: User | None, user_id: int, name: str, roles: list[Role],
                unit_id: int | None = None) -> User:
    access.require(actor, "users")
    user = _get(session, User, user_id, "用户")
    name = _name(name, "姓名", 30)
    if Role.ADMIN not in roles and Role.ADMIN in user.role_set() and user.active and _active_admins(session, user.id) == 0:
        raise DomainError("至少要保留一名启用的管理员")
    before = {"name": user.name, "roles": user.roles, "unit_id": user.unit_id}
    user.name, user.roles, user.unit_id = name, ",".join(r.value for r in Role if r in roles), unit_id
    record(session, actor, "update", "user", user.id, summary=f"修改用户 {user.username}",
           before=before, after={"name": user.name, "roles": user.roles, "unit_id": unit_id})
    return user


def reset_password(session: Session, actor: User | None, user_id: int, password: str) -> None:
    access.require(actor, "users")
    user = _get(session, User, user_id, "用户")
    if len(password) < 4:
        raise ValidationError("密码", "至少 4 位")
    user.password_hash = setup.hash_password(password)
    record(session, actor, "reset_password", "user", user.id, summary=f"重置用户 {user.username} 的密码")


def set_active(session: Session, actor: User | None, user_id: int, active: bool) -> None:
    access.require(actor, "users")
    user = _get(session, User, user_id, "用户")
    if not active:
        if actor is not None and actor.id == user.id:
            raise DomainError("不能停用自己的账号")
        if Role.ADMIN in user.role_set() and _active_admins(session, user.id) == 0:
            raise DomainError("至少要保留一名启用的管理员")
    before = user.active
    user.active = active
    record(session, actor, "activate" if active else "deactivate", "user", user.id,
           summary=f"{'启用' if active else '停用'}用户 {user.username}", before={"active": before},
           after={"active": active})


# -- what the screen shows -----------------------------------------------------------------------


@dataclass
class GridRow:
    id: int
    name: str
    worker_name: str
    worker_phone: str
    demands: int


@dataclass
class VillageRow:
    id: int
    name: str
    code: str
    initials: str
    demands: int
    grids: list[GridRow] = field(default_factory=list)


@dataclass
class UnitRow:
    id: int
    name: str
    level: Level
    village_id: int | None
    village: str
    active: bool
    open: int


@dataclass
class CategoryRow:
    id: int
    parent_id: int | None
    name: str
    depth: int
    demands: int


@dataclass
class ChannelRow:
    id: int
    name: str
    active: bool
    demands: int


@dataclass
class UserRow:
    id: int
    username: str
    name: str
    roles: list[Role]
    unit_id: int | None
    unit: str
    active: bool


@dataclass
class HolidayRow:
    day: date
    is_workday: bool
    name: str
    builtin: bool = False  # from the program's built-in schedule, not the editable table


def builtin_days(year: int) -> list[HolidayRow]:
    """The built-in schedule's rest days and 调休 workdays of one year (Chinese names)."""
    import chinese_calendar
    from chinese_calendar.constants import Holiday as BuiltinHoliday

    names = {h.value: h.chinese for h in BuiltinHoliday}
    rows = [HolidayRow(d, False, names.get(n, n), True) for d, n in chinese_calendar.constants.holidays.items()
            if d.year == year]
    rows += [HolidayRow(d, True, names.get(n, n), True) for d, n in chinese_calendar.constants.workdays.items()
             if d.year == year]
    return sorted(rows, key=lambda r: r.day)


@dataclass
class SettingsSnapshot:
    township_name: str
    township_code: str
    values: dict[str, Any]  # center_name, due_soon_days, repeat_window_days, retention_period
    villages: list[VillageRow]
    units: list[UnitRow]
    categories: list[CategoryRow]
    channels: list[ChannelRow]
    rules: dict[str, Any]
    users: list[UserRow]
    holidays: list[HolidayRow]
    coverage: Coverage


def _count_by(session: Session, column: Any, *where: Any) -> dict[Any, int]:
    q = sa.select(column, sa.func.count(Demand.id)).where(*where).group_by(column)
    return {k: int(n) for k, n in session.execute(q)}


def snapshot(session: Session, today: date | None = None) -> SettingsSnapshot:
    from app.vocab import OPEN_STATUSES

    town = setup.township(session)
    per_village = _count_by(session, Demand.village_id)
    per_grid = _count_by(session, Demand.grid_id)
    per_category = _count_by(session, Demand.category_id)
    per_channel = _count_by(session, Demand.channel_id)
    open_per_unit = _count_by(session, Demand.unit_id, Demand.status.in_(OPEN_STATUSES))
    villages = []
    names: dict[int, str] = {}
    for v in session.scalars(sa.select(Village).order_by(Village.sort, Village.id)):
        names[v.id] = v.name
        villages.append(VillageRow(v.id, v.name, v.code or "", v.initials, per_village.get(v.id, 0),
                                   [GridRow(g.id, g.name, g.worker_name, g.worker_phone, per_grid.get(g.id, 0))
                                    for g in v.grids]))
    level_order = {lvl: i for i, lvl in enumerate(Level)}
    units = sorted(
        (UnitRow(u.id, u.name, u.level, u.village_id, names.get(u.village_id, "") if u.village_id else "",
                 u.active, open_per_unit.get(u.id, 0)) for u in session.scalars(sa.select(Unit))),
        key=lambda u: (level_order[u.level], u.name))
    unit_names = {u.id: u.name for u in units}
    categories = [CategoryRow(c.id, c.parent_id, c.name, c.depth, per_category.get(c.id, 0))
                  for c in session.scalars(sa.select(Category).order_by(Category.depth, Category.sort, Category.id))]
    channels = [ChannelRow(c.id, c.name, c.active, per_channel.get(c.id, 0))
                for c in session.scalars(sa.select(Channel).order_by(Channel.sort, Channel.id))]
    users = [UserRow(u.id, u.username, u.name, sorted(u.role_set(), key=list(Role).index), u.unit_id,
                     unit_names.get(u.unit_id, "") if u.unit_id else "", u.active)
             for u in session.scalars(sa.select(User).order_by(User.id))]
    holidays = [HolidayRow(h.day, h.is_workday, h.name)
                for h in session.scalars(sa.select(Holiday).order_by(Holiday.day))]
    values = {key: settings.get(session, key) for key in ("center_name", "due_soon_days", "repeat_window_days",
                                                          "retention_period")}
    return SettingsSnapshot(town.name, town.code, values, villages, units, categories, channels,
                            settings.get(session, "deadline_rules"), users, holidays, coverage(session, today))

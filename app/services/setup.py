"""Creating a database: the township, its villages and grids, default lists, users."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from pypinyin import Style, lazy_pinyin
from sqlalchemy.orm import Session

from app import access, paths
from app.errors import DomainError, NotFound, ValidationError
from app.models import Category, Channel, Grid, Setting, Township, Unit, User, Village
from app.services import settings
from app.services.audit import record
from app.vocab import Level, Role

CODE_RE = re.compile(r"^\d{9}$|^\d{12}$")
PBKDF2_ROUNDS = 120_000


def initials(name: str) -> str:
    """Pinyin initials for search: 柳树社区 → lssq."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER) if p).lower()


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), PBKDF2_ROUNDS).hex()
    return f"pbkdf2${PBKDF2_ROUNDS}${salt}${digest}"


def verify_password(stored: str, password: str) -> bool:
    try:
        _, rounds, salt, digest = stored.split("$")
    except ValueError:
        return False
    test = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(rounds)).hex()
    return hmac.compare_digest(test, digest)


@dataclass
class VillageSpec:
    name: str
    code: str = ""
    grids: list[str] = field(default_factory=list)


def parse_villages(text: str) -> list[VillageSpec]:
    """One village a line: ``name[,code[,grid;grid...]]`` (comma, tab or Chinese comma)."""
    specs: list[VillageSpec] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in re.split(r"[,\t，]", line)]
        if parts[0] in ("村名", "名称", "name"):
            continue
        grids = [g.strip() for g in re.split(r"[;；、]", parts[2])] if len(parts) > 2 else []
        specs.append(VillageSpec(parts[0], parts[1] if len(parts) > 1 else "", [g for g in grids if g]))
    return specs


def township(session: Session) -> Township:
    row = session.scalars(sa.select(Township).order_by(Township.id)).first()
    if row is None:
        raise NotFound("数据库尚未初始化：请先运行 kuaichu init --township 名称 --code 区划代码")
    return row


def init_township(session: Session, name: str, code: str, villages: list[VillageSpec] = ()) -> Township:
    """Create (or rename) the township and load default lists; safe to run again."""
    if not name.strip():
        raise ValidationError("乡镇名称", "不能为空")
    if not CODE_RE.match(code):
        raise ValidationError("区划代码", f"“{code}”应为 9 位或 12 位数字")
    existing = session.scalars(sa.select(Township)).first()
    if existing is not None and existing.code != code:
        raise DomainError(f"数据库已属于 {existing.name}（{existing.code}），不能改为 {code}")
    town = existing or Township(name=name.strip(), code=code)
    town.name = name.strip()
    session.add(town)
    session.flush()
    ensure_unit(session, f"{town.name}人民政府", Level.TOWNSHIP)
    for i, spec in enumerate(villages):
        add_village(session, town, spec, sort=i)
    load_default_lists(session)
    if session.get(Setting, "deadline_rules") is None:
        # The center keeps its own copy: later program versions never change its rules silently.
        settings.put(session, None, "deadline_rules", settings.get(session, "deadline_rules"), check=False)
    return town


def add_village(session: Session, town: Township, spec: VillageSpec, sort: int = 0) -> Village:
    village = session.scalars(
        sa.select(Village).where(Village.township_id == town.id, Village.name == spec.name)
    ).first()
    if village is None:
        village = Village(township_id=town.id, name=spec.name, code=spec.code or None,
                          initials=initials(spec.name), sort=sort)
        session.add(village)
        session.flush()
    for grid_name in spec.grids:
        if not any(g.name == grid_name for g in village.grids):
            village.grids.append(Grid(name=grid_name))
    ensure_unit(session, village_unit_name(spec.name), Level.VILLAGE, village_id=village.id)
    return village


def village_unit_name(village: str) -> str:
    """柳树社区 → 柳树社区居委会, 兴文村 → 兴文村委会."""
    if village.endswith("社区"):
        return f"{village}居委会"
    if village.endswith("村"):
        return f"{village}委会"
    return f"{village}村（居）委会"


def ensure_unit(session: Session, name: str, level: Level, village_id: int | None = None) -> Unit:
    unit = session.scalars(sa.select(Unit).where(Unit.name == name)).first()
    if unit is None:
        unit = Unit(name=name, level=level, village_id=village_id)
        session.add(unit)
        session.flush()
    return unit


def load_default_lists(session: Session) -> None:
    """Category tree and channels from resources/, only where the database has none."""
    if session.scalar(sa.select(sa.func.count(Category.id))) == 0:
        tree = json.loads((paths.RESOURCES / "categories.json").read_text(encoding="utf-8"))
        for i, (top, seconds) in enumerate(tree.items()):
            c1 = Category(name=top, depth=1, sort=i)
            session.add(c1)
            session.flush()
            for j, (second, thirds) in enumerate(seconds.items()):
                c2 = Category(name=second, depth=2, sort=j, parent_id=c1.id)
                session.add(c2)
                session.flush()
                session.add_all(
                    Category(name=t, depth=3, sort=k, parent_id=c2.id) for k, t in enumerate(thirds)
                )
    if session.scalar(sa.select(sa.func.count(Channel.id))) == 0:
        names = json.loads((paths.RESOURCES / "channels.json").read_text(encoding="utf-8"))
        session.add_all(Channel(name=n, sort=i) for i, n in enumerate(names))
    session.flush()


def add_user(session: Session, actor: User | None, username: str, name: str, roles: list[Role],
             password: str, unit_id: int | None = None, *, check: bool = True) -> User:
    if check:
        access.require(actor, "users")
    if not username.strip():
        raise ValidationError("用户名", "不能为空")
    if session.scalars(sa.select(User).where(User.username == username)).first():
        raise ValidationError("用户名", f"“{username}”已存在")
    if len(password) < 4:
        raise ValidationError("密码", "至少 4 位")
    user = User(username=username.strip(), name=name.strip() or username, unit_id=unit_id,
                roles=",".join(r.value for r in roles), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    record(session, actor, "create", "user", user.id, summary=f"新建用户 {user.username}",
           after={"username": user.username, "name": user.name, "roles": user.roles})
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalars(sa.select(User).where(User.username == username.strip())).first()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise DomainError("用户名或密码不正确")
    return user


def command_line_actor(session: Session, username: str | None = None) -> User:
    """The user a command-line operation acts as: the named one, else the first 管理员."""
    if username:
        user = session.scalars(sa.select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"没有用户“{username}”")
        return user
    for user in session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id)):
        if Role.ADMIN in user.role_set():
            return user
    # A database with no users yet: an unsaved operator with every role.
    return User(id=None, username="cli", name="命令行", roles=",".join(r.value for r in Role), active=True)

"""The township's own lists: villages, grids, units, users, petitioners, categories, channels."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, code_enum, now
from app.vocab import Level, Role


class Township(Base):
    __tablename__ = "township"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)

    villages: Mapped[list[Village]] = relationship(back_populates="township", order_by="Village.sort")


class Village(Base):
    __tablename__ = "village"
    __table_args__ = (sa.UniqueConstraint("township_id", "name", name="uq_village_township_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"))
    name: Mapped[str] = mapped_column(sa.String(60))
    code: Mapped[str | None] = mapped_column(sa.String(12))
    initials: Mapped[str] = mapped_column(sa.String(30), default="")
    sort: Mapped[int] = mapped_column(default=0)

    township: Mapped[Township] = relationship(back_populates="villages")
    grids: Mapped[list[Grid]] = relationship(back_populates="village", order_by="Grid.name")


class Grid(Base):
    __tablename__ = "grid"
    __table_args__ = (sa.UniqueConstraint("village_id", "name", name="uq_grid_village_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"))
    name: Mapped[str] = mapped_column(sa.String(60))
    worker_name: Mapped[str] = mapped_column(sa.String(30), default="")
    worker_phone: Mapped[str] = mapped_column(sa.String(20), default="")

    village: Mapped[Village] = relationship(back_populates="grids")


class Unit(Base):
    """A 责任单位: a village committee, a township office, a district bureau, a city body."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    level: Mapped[Level] = mapped_column(code_enum(Level))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"))
    active: Mapped[bool] = mapped_column(default=True)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(30), unique=True)
    name: Mapped[str] = mapped_column(sa.String(30))
    roles: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    active: Mapped[bool] = mapped_column(default=True)

    def role_set(self) -> set[Role]:
        return {Role(c) for c in self.roles.split(",") if c}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_set() & set(roles))


class Petitioner(Base):
    __tablename__ = "petitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), index=True)
    phone: Mapped[str] = mapped_column(sa.String(20), default="", index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)


class Category(Base):
    """One node of the three-level 诉求类别 tree."""

    __tablename__ = "category"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name", name="uq_category_parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("category.id"))
    name: Mapped[str] = mapped_column(sa.String(40))
    depth: Mapped[int] = mapped_column(default=1)
    sort: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id")


class Channel(Base):
    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(30), unique=True)
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Setting(Base):
    """A center-wide setting (deadline rules, due-soon threshold...), value stored as JSON."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[object] = mapped_column(sa.JSON)


class Holiday(Base):
    """An entry of the staff-editable holiday table: a rest day (休) or a 调休 workday (班)."""

    __tablename__ = "holiday"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(sa.String(30), default="")


class CaseCounter(Base):
    """Last case-number sequence used per township and year (gap-free numbering)."""

    __tablename__ = "case_counter"

    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)

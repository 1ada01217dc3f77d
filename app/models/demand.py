"""A demand and the events of its life, each event in its own table."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, code_enum, now
from app.models.org import Category, Channel, Grid, Petitioner, Unit, User, Village
from app.vocab import (
    AssignmentKind,
    DemandType,
    ExtensionStatus,
    Level,
    Party,
    Satisfaction,
    ScreeningResult,
    ScreeningStage,
    Status,
)

demand_co_unit = sa.Table(
    "demand_co_unit",
    Base.metadata,
    sa.Column("demand_id", sa.ForeignKey("demand.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.ForeignKey("unit.id"), primary_key=True),
)


class Demand(Base):
    __tablename__ = "demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"))
    type: Mapped[DemandType] = mapped_column(code_enum(DemandType))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("category.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel.id"))
    content: Mapped[str] = mapped_column(sa.Text)
    received_on: Mapped[date] = mapped_column(index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grid.id"))
    petitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("petitioner.id"), index=True)
    registrar_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    level: Mapped[Level | None] = mapped_column(code_enum(Level))
    first_level: Mapped[Level | None] = mapped_column(code_enum(Level))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    status: Mapped[Status] = mapped_column(code_enum(Status), default=Status.REGISTERED, index=True)
    rule_set: Mapped[str] = mapped_column(sa.String(24), default="township")
    external_ref: Mapped[str] = mapped_column(sa.String(40), default="")
    deadline: Mapped[date | None] = mapped_column(index=True)
    deadline_provisional: Mapped[bool] = mapped_column(default=False)
    paused_since: Mapped[date | None] = mapped_column()
    screening_result: Mapped[ScreeningResult | None] = mapped_column(code_enum(ScreeningResult))
    review_result: Mapped[ScreeningResult | None] = mapped_column(code_enum(ScreeningResult))
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("demand.id"))
    is_repeat: Mapped[bool] = mapped_column(default=False)
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    result_summary: Mapped[str] = mapped_column(sa.Text, default="")
    remarks: Mapped[str] = mapped_column(sa.Text, default="")
    original_no: Mapped[str] = mapped_column(sa.String(60), default="")
    signoff_round: Mapped[int] = mapped_column(default=1)
    closed_on: Mapped[date | None] = mapped_column(index=True)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(code_enum(Satisfaction))
    transfer_count: Mapped[int] = mapped_column(default=0)
    extension_days: Mapped[int] = mapped_column(default=0)
    rework_count: Mapped[int] = mapped_column(default=0)
    supervised: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category | None] = relationship()
    channel: Mapped[Channel | None] = relationship()
    village: Mapped[Village | None] = relationship()
    grid: Mapped[Grid | None] = relationship()
    petitioner: Mapped[Petitioner | None] = relationship()
    registrar: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    co_units: Mapped[list[Unit]] = relationship(secondary=demand_co_unit)
    duplicate_of: Mapped[Demand | None] = relationship(remote_side="Demand.id")


class _Event:
    """Columns every event of a demand has."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)


class Screening(_Event, Base):
    __tablename__ = "screening"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    stage: Mapped[ScreeningStage] = mapped_column(code_enum(ScreeningStage))
    result: Mapped[ScreeningResult] = mapped_column(code_enum(ScreeningResult))
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("demand.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class Assignment(_Event, Base):
    """The first 交办 and every later transfer (移交) of a demand."""

    __tablename__ = "assignment"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(code_enum(AssignmentKind))
    from_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    to_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    from_level: Mapped[Level | None] = mapped_column(code_enum(Level))
    level: Mapped[Level] = mapped_column(code_enum(Level))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    from_unit: Mapped[Unit | None] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id])


class ProgressEntry(_Event, Base):
    __tablename__ = "progress_entry"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    done_on: Mapped[date] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class Attachment(_Event, Base):
    """Evidence or a scan; the file is stored once under its SHA-256, the original name kept."""

    __tablename__ = "attachment"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(20), default="evidence")
    caption: Mapped[str] = mapped_column(sa.String(255), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class Extension(_Event, Base):
    __tablename__ = "extension"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    days: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ExtensionStatus] = mapped_column(code_enum(ExtensionStatus))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    old_deadline: Mapped[date | None] = mapped_column()
    new_deadline: Mapped[date | None] = mapped_column()


class Pause(_Event, Base):
    """A 中止 of the clock; ``resumed_on`` is empty while it lasts."""

    __tablename__ = "pause"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    paused_on: Mapped[date] = mapped_column()
    resumed_on: Mapped[date | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class SignOff(_Event, Base):
    __tablename__ = "signoff"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(default=1)
    party: Mapped[Party] = mapped_column(code_enum(Party))
    signer_name: Mapped[str] = mapped_column(sa.String(40))
    signed_on: Mapped[date] = mapped_column()
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    refused: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class Evaluation(_Event, Base):
    __tablename__ = "evaluation"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    result: Mapped[Satisfaction] = mapped_column(code_enum(Satisfaction))
    evaluated_on: Mapped[date] = mapped_column(index=True)
    method: Mapped[str] = mapped_column(sa.String(30), default="")
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class Revisit(_Event, Base):
    """回头看: a later visit to a closed demand."""

    __tablename__ = "revisit"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    visited_on: Mapped[date] = mapped_column()
    finding: Mapped[str] = mapped_column(sa.Text)
    problem_recurred: Mapped[bool] = mapped_column(default=False)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class Supervision(_Event, Base):
    """A 督办 mark with its note."""

    __tablename__ = "supervision"

    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(sa.Text)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class AuditEvent(_Event, Base):
    """Who changed what, when, with the values before and after."""

    __tablename__ = "audit_event"

    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    entity: Mapped[str] = mapped_column(sa.String(30))
    entity_id: Mapped[int | None] = mapped_column()
    demand_id: Mapped[int | None] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)

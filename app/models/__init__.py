"""SQLAlchemy ORM models (typed, SQLAlchemy 2 style)."""

from app.models.base import Base
from app.models.demand import (
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
    demand_co_unit,
)
from app.models.org import (
    CaseCounter,
    Category,
    Channel,
    Grid,
    Holiday,
    Petitioner,
    Setting,
    Township,
    Unit,
    User,
    Village,
)

__all__ = [
    "Assignment", "Attachment", "AuditEvent", "Base", "CaseCounter", "Category", "Channel",
    "Demand", "Evaluation", "Extension", "Grid", "Holiday", "Pause", "Petitioner",
    "ProgressEntry", "Revisit", "Screening", "Setting", "SignOff", "Supervision", "Township",
    "Unit", "User", "Village", "demand_co_unit",
]

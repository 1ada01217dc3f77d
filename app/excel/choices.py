"""The database's lists an imported value can be mapped to (Qt-free).

The import wizard offers, for each village, unit, category or channel the file names
but the database lacks, "对应到：<an existing entry>"; these are those entries, in the
order the settings screens show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Channel, Unit, Village
from app.services.queries import category_paths


@dataclass
class ListNames:
    """The database's names each unknown value can be mapped to."""

    village: list[str] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)  # full paths: 城市管理 › 市政 › 市政道路
    channel: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[str]:
        """The names of one kind (village, unit, category, channel); empty for any other."""
        return list(getattr(self, kind, []))


def load_names(session: Session) -> ListNames:
    """Villages and active units and channels in their display order; category paths sorted."""
    return ListNames(
        village=list(session.scalars(sa.select(Village.name).order_by(Village.sort, Village.id))),
        unit=list(session.scalars(
            sa.select(Unit.name).where(Unit.active.is_(True)).order_by(Unit.level, Unit.id))),
        category=sorted(category_paths(session).values()),
        channel=list(session.scalars(
            sa.select(Channel.name).where(Channel.active.is_(True)).order_by(Channel.sort, Channel.id))),
    )

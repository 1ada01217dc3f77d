"""Choosing what the screenshots show: the most capable account, a demand with a long
story, a petitioner who came back. Read-only; used by ``kuaichu screenshots``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Demand, User
from app.vocab import OPEN_STATUSES, Role, Status


def most_capable_user(session: Session) -> User:
    """The active user with the most roles (管理员 first on a tie, then the oldest account)."""
    users = list(session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id)))
    if not users:
        raise NotFound("数据库中没有启用的用户，无法截图；请先运行 kuaichu demo 或创建用户")
    return max(users, key=lambda u: (len(u.role_set()), Role.ADMIN in u.role_set(), -u.id))


def demand_with_a_story(session: Session) -> int | None:
    """A demand reworked and transferred if there is one (the newest), else any recent one."""
    for where in ((Demand.rework_count > 0, Demand.transfer_count > 0),
                  (Demand.status == Status.EVALUATED,),
                  (Demand.status.in_(OPEN_STATUSES),),
                  ()):
        found = session.scalar(sa.select(Demand.id).where(*where).order_by(Demand.id.desc()).limit(1))
        if found is not None:
            return int(found)
    return None


def returning_petitioner(session: Session) -> int | None:
    """The petitioner of the latest demand flagged as a repeat."""
    return session.scalar(sa.select(Demand.petitioner_id)
                          .where(Demand.petitioner_id.is_not(None), Demand.is_repeat.is_(True))
                          .order_by(Demand.received_on.desc(), Demand.id.desc()).limit(1))

"""What every screen gets: the database, the logged-in user, and the navigator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app import access
from app.db import Database
from app.models import User


class Navigator(QObject):
    """Screens ask for navigation through these signals; the main window answers them.

    ``open_ledger`` carries an ``app.services.queries.DemandFilter`` and a title, so a
    number clicked on the dashboard opens the ledger filtered to exactly those demands.
    ``data_changed`` is emitted after any write, so open screens can refresh.
    """

    open_ledger = Signal(object, str)
    open_demand = Signal(int)
    data_changed = Signal()


@dataclass
class AppContext:
    db: Database
    user: User
    files_dir: Path
    nav: Navigator = field(default_factory=Navigator)

    def can(self, operation: str) -> bool:
        return access.can(self.user, operation)

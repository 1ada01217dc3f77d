"""Where things live: the data directory, the database, stored attachments, resources."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from app import APP_NAME

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
ENV_DB = "KUAICHU_DB"
ENV_DATA = "KUAICHU_DATA_DIR"


def data_dir() -> Path:
    """The per-user data directory (created on demand); KUAICHU_DATA_DIR overrides it."""
    override = os.environ.get(ENV_DATA)
    path = Path(override) if override else Path(user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_url(target: str) -> bool:
    return "://" in target


def database_url(target: str | None = None) -> str:
    """Resolve --db / KUAICHU_DB / default into a SQLAlchemy URL.

    A plain path means a SQLite file; anything with ``://`` is taken as a SQLAlchemy URL.
    """
    target = target or os.environ.get(ENV_DB)
    if not target:
        return f"sqlite:///{data_dir() / 'kuaichu.sqlite'}"
    if is_url(target):
        return target
    path = Path(target).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def attachments_dir(db_url: str) -> Path:
    """Attachments are stored beside a SQLite file, else in the data directory."""
    db_file = sqlite_path(db_url)
    base = db_file.parent / f"{db_file.stem}-files" if db_file else data_dir() / "files"
    base.mkdir(parents=True, exist_ok=True)
    return base


def backups_dir(db_url: str) -> Path:
    """Daily copies are kept beside a SQLite file, in ``<name>-backups/``."""
    db_file = sqlite_path(db_url)
    base = db_file.parent / f"{db_file.stem}-backups" if db_file else data_dir() / "backups"
    return base


def display_url(url: str) -> str:
    """A database URL fit to print or show: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

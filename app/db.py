"""Engine, sessions, and migrations at start.

SQLite runs with foreign keys on, WAL, ``synchronous=FULL`` and a busy timeout. Write
transactions on SQLite start with ``BEGIN IMMEDIATE`` so two sessions never both read a
counter and then both write it. The same code runs on PostgreSQL through a URL.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app import paths
from app.errors import ConflictError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 15_000
DAILY_BACKUPS_KEPT = 14


def _install_sqlite_pragmas(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        if paths.sqlite_path(str(engine.url)) is not None:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_pragmas(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class Database:
    """One database: its engine and the two kinds of session the program uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        )
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back entirely on any error.

        A row changed by someone else since it was loaded (the optimistic-lock version no
        longer matches) fails as ``ConflictError``, with nothing written.
        """
        try:
            with self._write() as session, session.begin():
                yield session
        except StaleDataError as exc:
            raise ConflictError("数据已被其他人修改，请刷新后再操作；您的修改未保存") from exc

    def dispose(self) -> None:
        self.engine.dispose()

    # -- migrations -------------------------------------------------------------

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def is_empty(self) -> bool:
        return not sa.inspect(self.engine).get_table_names()

    def upgrade(self, backup: bool = True) -> Path | None:
        """Bring the schema to head; copy an existing SQLite file first. Returns the backup."""
        current = self.current_revision()
        if current == self.head_revision():
            return None
        backup_path = None
        db_file = paths.sqlite_path(self.url)
        if backup and db_file is not None and db_file.exists() and not self.is_empty():
            backup_path = self._backup(db_file, current or "none")
        cfg = self.alembic_config()
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection if self.is_sqlite else None
            if raw is not None:
                # Outside any transaction, or SQLite ignores it; batch rebuilds need it off.
                raw.execute("PRAGMA foreign_keys=OFF")
            cfg.attributes["connection"] = conn
            try:
                command.upgrade(cfg, "head")
            finally:
                if raw is not None:
                    problems = raw.execute("PRAGMA foreign_key_check").fetchall()
                    raw.execute("PRAGMA foreign_keys=ON")
            if raw is not None and problems:
                raise RuntimeError(f"迁移后外键检查失败：{problems[:5]}")
        log.info("database upgraded from %s to %s", current, self.head_revision())
        return backup_path

    def _backup(self, db_file: Path, revision: str) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return self.backup_to(db_file.with_name(f"{db_file.stem}.backup-{stamp}-{revision}{db_file.suffix}"))

    def backup_to(self, target: Path) -> Path:
        """Copy a consistent snapshot of the SQLite file (the backup API honours the WAL)."""
        db_file = paths.sqlite_path(self.url)
        if db_file is None:
            raise RuntimeError("只有 SQLite 数据库可以由本程序备份；PostgreSQL 请用 pg_dump")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        src = sqlite3.connect(db_file)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        tmp.replace(target)
        log.info("backup written to %s", target)
        return target

    def daily_backup(self, folder: Path, keep: int = DAILY_BACKUPS_KEPT, today: date | None = None) -> Path | None:
        """Once a day, a copy into ``folder`` named by the date; only the newest ``keep`` stay.

        Returns the new copy, or None when today's exists already or the database is not SQLite.
        """
        db_file = paths.sqlite_path(self.url)
        if db_file is None:
            return None
        today = today or date.today()
        target = folder / f"{db_file.stem}-{today:%Y%m%d}{db_file.suffix}"
        if target.exists():
            return None
        self.backup_to(target)
        copies = sorted(folder.glob(f"{db_file.stem}-[0-9]*{db_file.suffix}"))
        for old in copies[:-keep]:
            old.unlink()
        return target

    def check(self) -> list[str]:
        """Integrity and schema problems, in Chinese; empty when all is well."""
        problems: list[str] = []
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            problems.append(f"数据库结构版本为 {current or '无'}，程序需要 {head}（请运行 kuaichu db upgrade）")
        if self.is_sqlite:
            with self.engine.connect() as conn:
                result = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
                if result != "ok":
                    problems.append(f"完整性检查失败：{result}")
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if bad:
                    problems.append(f"外键检查发现 {len(bad)} 处问题")
        return problems


def open_database(target: str | None = None, migrate: bool = True) -> Database:
    db = Database(paths.database_url(target))
    if migrate:
        db.upgrade()
    return db



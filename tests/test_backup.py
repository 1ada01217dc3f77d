"""Backups: a consistent copy a day (the newest 14 kept) and `kuaichu db backup`."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

from app import cli, paths


def demand_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM demand").fetchone()[0]


def test_daily_backup_once_a_day_and_keeps_the_newest(ledger, tmp_path: Path) -> None:
    ledger.register("求决", date.today(), "柳树村")
    ledger.register("建议", date.today(), "柳树村")
    folder = tmp_path / "backups"
    first = ledger.db.daily_backup(folder, keep=3, today=date(2026, 11, 1))
    assert first is not None and first.name.endswith("-20261101.sqlite")
    assert demand_count(first) == 2
    assert ledger.db.daily_backup(folder, keep=3, today=date(2026, 11, 1)) is None  # one a day
    for i in range(1, 6):
        ledger.db.daily_backup(folder, keep=3, today=date(2026, 11, 1) + timedelta(days=i))
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == [f"t-2026110{d}.sqlite" for d in (4, 5, 6)]
    assert not list(folder.glob("*.part"))


def test_db_backup_command_copies_the_database(ledger, tmp_path: Path, capsys) -> None:
    ledger.register("投诉", date.today(), "柳树村")
    target = tmp_path / "copy.sqlite"
    assert cli.main(["--db", str(paths.sqlite_path(ledger.db.url)), "db", "backup", "--to", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    assert demand_count(target) == 1

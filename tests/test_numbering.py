"""Case numbers ``{division code}-{year}-{5 digits}``: sequential, gap-free, per year."""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
import sqlalchemy as sa

from app.db import Database
from app.errors import ValidationError
from app.models import Demand
from app.services import demands

CODE = "511902001"


def all_codes(db) -> list[str]:
    with db.read() as s:
        return sorted(s.scalars(sa.select(Demand.code)))


def test_numbers_are_sequential_and_restart_each_year(ledger):
    got = [ledger.register(received=date(2025, 3, 3)), ledger.register(received=date(2025, 12, 31)),
           ledger.register(received=date(2026, 1, 4)), ledger.register(received=date(2025, 11, 30)),
           ledger.register(received=date(2026, 1, 5))]
    assert got == [f"{CODE}-2025-00001", f"{CODE}-2025-00002", f"{CODE}-2026-00001",
                   f"{CODE}-2025-00003", f"{CODE}-2026-00002"]
    assert all(re.fullmatch(rf"{CODE}-\d{{4}}-\d{{5}}", c) for c in got)


def test_year_comes_from_the_receipt_date(ledger):
    # Registered late (today), but received on the last day of 2025: numbered in 2025.
    assert ledger.register(received=date(2025, 12, 31)).startswith(f"{CODE}-2025-")


def test_rolled_back_registration_leaves_no_gap(ledger):
    assert ledger.register() == f"{CODE}-2025-00001"
    with pytest.raises(RuntimeError), ledger.db.write() as s:
        d = demands.register(s, ledger.people.registrar,
                             demands.DemandInput("求决", "停电", date(2025, 3, 4)))
        assert d.code == f"{CODE}-2025-00002"
        raise RuntimeError("断电，事务未提交")
    with pytest.raises(ValidationError), ledger.db.write() as s:
        demands.register(s, ledger.people.registrar, demands.DemandInput("求决", "   ", date(2025, 3, 4)))
    assert ledger.register() == f"{CODE}-2025-00002"
    assert all_codes(ledger.db) == [f"{CODE}-2025-00001", f"{CODE}-2025-00002"]


def test_two_concurrent_writers_get_unique_gap_free_numbers(ledger):
    """Two programs on the same file (own engine each) registering 50 demands apiece."""
    url, registrar = ledger.db.url, ledger.people.registrar
    village = ledger.town.villages["河东社区"]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    got: dict[str, list[str]] = {"甲": [], "乙": []}
    prefix = {"甲": "138", "乙": "139"}

    def writer(name: str) -> None:
        own = Database(url)
        try:
            barrier.wait(timeout=10)
            for i in range(50):
                data = demands.DemandInput("求决", f"{name}登记的第{i + 1}件", date(2025, 6, 3), village_id=village,
                                           petitioner_name=f"{name}{i}", petitioner_phone=f"{prefix[name]}000000{i:02d}")
                with own.write() as s:
                    got[name].append(demands.register(s, registrar, data).code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    expected = [f"{CODE}-2025-{n:05d}" for n in range(1, 101)]
    assert sorted(got["甲"] + got["乙"]) == expected
    assert all_codes(ledger.db) == expected
    # Each writer saw its own numbers rise (it never reused or went back).
    for codes in got.values():
        assert len(codes) == 50 and codes == sorted(codes)

"""Optimistic locking: a change made from an out-of-date view is refused, never merged.

Write transactions on SQLite begin with ``BEGIN IMMEDIATE``, so two writers never
interleave; what the version column guards against is a user saving what they loaded
before someone else's change. That shows up three ways, all as ``ConflictError``:
a stale ``expected_version``, a stale ``Demand`` object handed to a service, and a stale
object flushed by the ORM (SQLAlchemy's ``StaleDataError``, translated by
``Database.write``).
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from app.db import Database
from app.errors import ConflictError
from app.models import Demand
from app.services import demands
from app.vocab import Status


def test_stale_expected_version_is_refused(ledger):
    code = ledger.register()
    v1 = ledger.demand(code).version
    with ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, code, {"remarks": "第一次修改"}, expected_version=v1)
    before = ledger.snapshot(code)
    with pytest.raises(ConflictError) as err, ledger.db.write() as s:
        demands.screen(s, ledger.people.registrar, code, "有效", expected_version=v1)
    assert code in str(err.value) and "已被其他人修改" in str(err.value)
    assert ledger.snapshot(code) == before
    assert ledger.demand(code).status is Status.REGISTERED


def test_two_users_editing_the_same_loaded_demand(ledger):
    """Both load version N; the first save wins, the second is refused and changes nothing."""
    code = ledger.register()
    first, second = ledger.demand(code), ledger.demand(code)  # two screens, two read sessions
    assert first.version == second.version
    with ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, code, {"content": "甲：路灯 3 盏不亮"},
                     expected_version=first.version)
    with pytest.raises(ConflictError), ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, code, {"content": "乙：路灯 2 盏不亮"},
                     expected_version=second.version)
    d = ledger.demand(code)
    assert d.content == "甲：路灯 3 盏不亮"
    assert d.version == first.version + 1


def test_stale_demand_object_passed_to_a_service_is_refused(ledger):
    code = ledger.register()
    stale = ledger.demand(code)  # loaded by a read session that is now closed
    with ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, code, {"remarks": "别人先改了"})
    with pytest.raises(ConflictError), ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, stale, {"content": "用旧数据覆盖"})
    assert ledger.demand(code).content != "用旧数据覆盖"


def test_fresh_demand_object_from_another_session_is_saved(ledger):
    """A demand object from a closed read session still works when it is up to date."""
    code = ledger.register()
    loaded = ledger.demand(code)
    with ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, loaded, {"content": "村道 5 盏路灯不亮"})
    assert ledger.demand(code).content == "村道 5 盏路灯不亮"


def test_orm_sessions_both_changing_the_same_row(ledger):
    """Without the services: SQLAlchemy's version check refuses the second commit."""
    code = ledger.register()
    with ledger.db.read() as a, ledger.db.read() as b:
        da = a.scalars(sa.select(Demand).where(Demand.code == code)).one()
        db_ = b.scalars(sa.select(Demand).where(Demand.code == code)).one()
        a.commit()  # end both read transactions; the loaded objects keep their state
        b.commit()
        da.remarks = "会话甲"
        a.commit()
        db_.remarks = "会话乙"
        with pytest.raises(StaleDataError):
            b.commit()
    assert ledger.demand(code).remarks == "会话甲"


def test_database_write_translates_stale_data_into_conflict(ledger):
    code = ledger.register()
    stale = ledger.demand(code)
    with ledger.db.write() as s:
        demands.edit(s, ledger.people.registrar, code, {"remarks": "已更新"})
    with pytest.raises(ConflictError) as err, ledger.db.write() as s:
        s.add(stale)  # re-attach the out-of-date object, as a form holding it might
        stale.content = "旧表单的内容"
    assert isinstance(err.value.__cause__, StaleDataError)
    assert "已被其他人修改" in str(err.value)
    d = ledger.demand(code)
    assert (d.content, d.remarks) != ("旧表单的内容", "已更新") and d.remarks == "已更新"


def test_two_writers_at_once_one_wins(ledger, tmp_path):
    """Two programs on the same file save the same version at the same moment."""
    code = ledger.register()
    version = ledger.demand(code).version
    url = ledger.db.url
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def save(text: str) -> None:
        own = Database(url)
        try:
            barrier.wait(timeout=10)
            with own.write() as s:
                demands.edit(s, ledger.people.registrar, code, {"content": text}, expected_version=version)
            outcome[text] = "saved"
        except ConflictError as exc:
            outcome[text] = exc
        finally:
            own.dispose()

    threads = [threading.Thread(target=save, args=(t,)) for t in ("甲的修改", "乙的修改")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    saved = [t for t, r in outcome.items() if r == "saved"]
    refused = [t for t, r in outcome.items() if isinstance(r, ConflictError)]
    assert len(saved) == 1 and len(refused) == 1
    d = ledger.demand(code)
    assert d.content == saved[0] and d.version == version + 1

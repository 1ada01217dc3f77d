"""The Qt-free services behind the screens: admin changes, intake look-ups, dashboard, warnings."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.errors import DomainError, PermissionDenied, ValidationError
from app.models import AuditEvent, Category, Demand, Grid, Unit, User, Village
from app.services import admin, dashboard, intake, queries, setup
from app.services import warnings as warn
from app.services.queries import DemandFilter
from app.vocab import DemandType, Level, Role
from tests.screen_fixtures import ScreenDb, build_screen_db


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    built = build_screen_db(tmp_path_factory.mktemp("svc") / "s.sqlite", 60, seed=5)
    yield built
    built.db.dispose()


@pytest.fixture
def own(tmp_path: Path):
    built = build_screen_db(tmp_path / "o.sqlite", 8, seed=2)
    yield built
    built.db.dispose()


def test_trend_and_month_counts_agree_with_the_ledger_filters(shared: ScreenDb) -> None:
    today = date.today()
    with shared.db.read() as s:
        data = dashboard.compute(s, today)
        for point in data.trend:
            assert point.received == queries.count(s, point.received_filter(), today)
            assert point.closed == queries.count(s, point.closed_filter(), today)
        for month in data.months:
            for figure in month.figures.values():
                if isinstance(figure.value, int):
                    assert queries.count(s, figure.filter, today) == figure.value
        for v in data.villages:
            assert v.overdue == queries.count(s, DemandFilter(village_ids=[v.village_id], overdue=True), today)
    assert len(data.trend) == 12 and data.trend[-1].period.start == today.replace(day=1)


def test_intake_choices_find_villages_by_initials(shared: ScreenDb) -> None:
    with shared.db.read() as s:
        choices = intake.load_choices(s)
    found = [c.name for c in choices.villages if "ls" in c.search]
    assert found == ["柳树社区"]
    assert {c.name for c in choices.types} == {"咨询", "建议", "求决", "投诉"}
    preview = intake.preview_deadline(choices, DemandType.SOLVE, date(2025, 3, 3))
    assert preview.due == date(2025, 3, 31) and preview.rule_label == "20 个工作日"
    hotline = intake.preview_deadline(choices, DemandType.SOLVE, date(2025, 3, 3), "12345热线")
    assert hotline.due == date(2025, 3, 12)


def test_petitioner_search_and_history(shared: ScreenDb) -> None:
    with shared.db.read() as s:
        d = s.scalars(sa.select(Demand).where(Demand.is_repeat.is_(True)).order_by(Demand.id.desc())).first()
        person = d.petitioner
        by_phone = intake.search_petitioners(s, person.phone[-6:])
        by_name = intake.search_petitioners(s, person.name[:1])
        known = intake.known_petitioner(s, person.phone, "", "")
        history = intake.history(s, person.id, d.received_on, 90)
    assert person.id in {h.id for h in by_phone} and person.id in {h.id for h in by_name}
    assert known is not None and known.id == person.id
    assert history is not None and history.is_repeat
    assert "重复诉求提醒" in history.warning()


def test_repeat_petitioners_have_two_demands_in_the_window(shared: ScreenDb) -> None:
    today = date.today()
    with shared.db.read() as s:
        since, rows = warn.repeat_petitioners(s, today, 90)
        for p in rows:
            n = s.scalar(sa.select(sa.func.count(Demand.id)).where(
                Demand.petitioner_id == p.petitioner_id, Demand.received_on.between(since, today)))
            assert n == p.count >= 2
    assert since == today - timedelta(days=90)


def test_admin_lists_change_with_audit(own: ScreenDb) -> None:
    admin_user = own.user("admin")
    with own.db.write() as s:
        v = admin.add_village(s, admin_user, "凤凰村", "510902001209")
        g = admin.add_grid(s, admin_user, v.id, "凤凰一网格", "李网格", "13900001111")
        admin.update_village(s, admin_user, v.id, "凤鸣村")
        top = admin.add_category(s, admin_user, None, "生态环境")
        child = admin.add_category(s, admin_user, top.id, "水污染")
        admin.add_category(s, admin_user, child.id, "河道排污")
        unit = admin.add_unit(s, admin_user, "区生态环境局", Level.DISTRICT)
        admin.update_unit(s, admin_user, unit.id, "区生态环境局", Level.DISTRICT, active=False)
        vid, gid, top_id = v.id, g.id, top.id
    with own.db.read() as s:
        village = s.get(Village, vid)
        assert (village.name, village.initials) == ("凤鸣村", "fmc")
        assert s.scalars(sa.select(Unit).where(Unit.name == "凤鸣村委会", Unit.village_id == vid)).one()
        assert s.get(Grid, gid).worker_phone == "13900001111"
        entities = {e for e, in s.execute(sa.select(AuditEvent.entity).where(AuditEvent.actor_id == admin_user.id))}
    assert {"village", "grid", "category", "unit"} <= entities
    with own.db.write() as s:
        with pytest.raises(ValidationError, match="最多三级"):
            admin.add_category(s, admin_user, s.scalars(sa.select(Category.id).where(Category.name == "河道排污")).one(),
                               "太深")
    with own.db.write() as s:
        assert admin.delete_category(s, admin_user, top_id) == 3
        admin.delete_village(s, admin_user, vid)
    with own.db.read() as s:
        assert s.get(Village, vid) is None


def test_admin_refuses_what_would_break_records(own: ScreenDb) -> None:
    admin_user = own.user("admin")
    with own.db.read() as s:
        used = s.scalars(sa.select(Demand.village_id).where(Demand.village_id.is_not(None))).first()
    with pytest.raises(DomainError, match="不能删除"), own.db.write() as s:
        admin.delete_village(s, admin_user, used)
    with pytest.raises(ValidationError, match="应在 0 到 30 之间"), own.db.write() as s:
        admin.put_setting(s, admin_user, "due_soon_days", 99)
    with pytest.raises(ValidationError, match="网格员电话"), own.db.write() as s:
        admin.add_grid(s, admin_user, used, "新网格", "", "12345")
    with pytest.raises(PermissionDenied), own.db.write() as s:
        admin.add_channel(s, own.user("dengji"), "微信")


def test_users_keep_at_least_one_admin(own: ScreenDb) -> None:
    admin_user = own.user("admin")
    with own.db.read() as s:
        others = [u for u in s.scalars(sa.select(User)) if Role.ADMIN in u.role_set() and u.id != admin_user.id]
    with own.db.write() as s:
        for u in others:  # leave "admin" as the only administrator
            admin.update_user(s, admin_user, u.id, u.name, [r for r in u.role_set() if r is not Role.ADMIN])
    with pytest.raises(DomainError, match="不能停用自己"), own.db.write() as s:
        admin.set_active(s, admin_user, admin_user.id, False)
    with pytest.raises(DomainError, match="至少要保留一名"), own.db.write() as s:
        admin.update_user(s, admin_user, admin_user.id, admin_user.name, [Role.REGISTRAR])
    with own.db.write() as s:
        new = admin.add_user(s, admin_user, "xinren", "新人", [Role.HANDLER], "pass1")
        admin.reset_password(s, admin_user, new.id, "pass2")
        admin.set_active(s, admin_user, new.id, False)
    with pytest.raises(DomainError), own.db.read() as s:
        setup.authenticate(s, "xinren", "pass2")  # deactivated
    with own.db.write() as s:
        admin.set_active(s, admin_user, new.id, True)
    with own.db.read() as s:
        assert setup.authenticate(s, "xinren", "pass2").name == "新人"

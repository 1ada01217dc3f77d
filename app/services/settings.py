"""Center-wide settings, declared once with defaults and Chinese titles; stored in the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app import access, paths
from app.models import Setting, User
from app.services.audit import record


@dataclass(frozen=True)
class SettingSpec:
    key: str
    title: str
    default: Any


def _default_rules() -> dict[str, Any]:
    return json.loads((paths.RESOURCES / "deadline_rules.json").read_text(encoding="utf-8"))


SPECS: dict[str, SettingSpec] = {
    s.key: s
    for s in (
        SettingSpec("deadline_rules", "办理时限规则", None),
        SettingSpec("due_soon_days", "临期预警（剩余工作日）", 3),
        SettingSpec("repeat_window_days", "重复诉求判定天数", 90),
        SettingSpec("center_name", "中心名称", ""),
        SettingSpec("retention_period", "案卷保管期限", "永久"),
    )
}


def get(session: Session, key: str) -> Any:
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    if key == "deadline_rules":
        return _default_rules()
    return SPECS[key].default


def put(session: Session, actor: User | None, key: str, value: Any, *, check: bool = True) -> None:
    if check:
        access.require(actor, "settings")
    if key not in SPECS:
        raise KeyError(key)
    before = get(session, key)
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    record(session, actor, "setting", "setting", None, summary=SPECS[key].title,
           before={"value": before}, after={"value": value})

"""Deadline rules and the countdown, in working days or calendar days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.vocab import ClockState, DemandType, RuleSet
from app.workcal import WorkCalendar

REWORK = "rework"
EXTENSION_MAX = "extension_max"
WORKDAY, CALENDAR = "workday", "calendar"


@dataclass(frozen=True)
class Rule:
    days: int
    unit: str = WORKDAY

    @property
    def label(self) -> str:
        if self.unit == CALENDAR:
            return f"{self.days} 个自然日"
        return "当日办结" if self.days == 0 else f"{self.days} 个工作日"


@dataclass(frozen=True)
class Deadline:
    due: date
    provisional: bool


def rule_for(rules: dict[str, Any], rule_set: str, key: str) -> Rule:
    """``key`` is a DemandType code, ``rework`` or ``extension_max``."""
    try:
        spec = rules[rule_set][key]
    except KeyError as exc:
        raise KeyError(f"期限规则缺失：{rule_set}/{key}") from exc
    return Rule(int(spec["days"]), spec.get("unit", WORKDAY))


def rule_key(kind: str) -> str:
    """Accept a type label or code, or 复办 (rework), and return the rule key."""
    if kind in ("复办", "二次整改", REWORK):
        return REWORK
    return DemandType.from_label(kind).value


def add(cal: WorkCalendar, rule: Rule, start: date) -> Deadline:
    if rule.unit == CALENDAR:
        # A calendar-day period ending on a rest day ends on the next working day.
        due = cal.next_workday_on_or_after(start + timedelta(days=rule.days))
    else:
        due = cal.add_workdays(start, rule.days)
    return Deadline(due, cal.provisional(start, due))


def due_date(cal: WorkCalendar, rules: dict[str, Any], rule_set: str, kind: str, start: date) -> Deadline:
    return add(cal, rule_for(rules, rule_set, rule_key(kind)), start)


def paused_length(cal: WorkCalendar, unit: str, paused_on: date, resumed_on: date) -> int:
    """Days the clock stood still: working days from the pause day up to the resume day."""
    if unit == CALENDAR:
        return (resumed_on - paused_on).days
    return cal.workdays_between(paused_on - timedelta(days=1), resumed_on - timedelta(days=1))


def shift(cal: WorkCalendar, unit: str, deadline: date, days: int) -> date:
    if days <= 0:
        return deadline
    if unit == CALENDAR:
        return cal.next_workday_on_or_after(deadline + timedelta(days=days))
    return cal.add_workdays(deadline, days)


def rule_set_of(value: str) -> RuleSet:
    return RuleSet.from_label(value)


def clock_state(
    cal: WorkCalendar, today: date, deadline: date | None, *, open_: bool, paused: bool, due_soon_days: int
) -> tuple[ClockState, int | None]:
    """The countdown of one demand: its state and remaining working days."""
    if not open_ or deadline is None:
        return ClockState.DONE, None
    remaining = cal.remaining(today, deadline)
    if deadline < today:
        # Past the deadline day is overdue even on a weekend, when no working day has passed yet.
        remaining = min(remaining, -1)
    if paused:
        return ClockState.PAUSED, remaining
    if remaining < 0:
        return ClockState.OVERDUE, remaining
    if remaining <= due_soon_days:
        return ClockState.DUE_SOON, remaining
    return ClockState.NORMAL, remaining

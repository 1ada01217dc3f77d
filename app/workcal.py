"""The official working-day calendar.

Built-in data comes from chinese-calendar (State Council schedules, 调休 included);
the staff-editable holiday table overrides it day by day and covers years the built-in
data lacks. Outside covered years days fall back to Monday–Friday, and every result that
touches such a day is marked provisional instead of being silently trusted.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

FIRST_DAY = date(2004, 1, 1)
LAST_DAY = date(2040, 12, 31)


def builtin_years() -> range:
    days = list(chinese_calendar.constants.holidays) + list(chinese_calendar.constants.workdays)
    return range(min(d.year for d in days), max(d.year for d in days) + 1)


@dataclass(frozen=True)
class DayOverride:
    day: date
    is_workday: bool
    name: str = ""


class CalendarNotCovered(Exception):
    """A date's year has no official holiday schedule in the program."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"{year} 年的法定节假日安排尚未录入，无法按工作日计算期限；"
            f"请在“设置 › 节假日”中录入或导入 {year} 年的安排（kuaichu holidays import FILE）"
        )
        self.year = year


class WorkCalendar:
    def __init__(self, overrides: Iterable[DayOverride] = ()) -> None:
        self.overrides: Mapping[date, DayOverride] = {o.day: o for o in overrides}
        self._builtin = builtin_years()
        self.covered_years = set(self._builtin) | {d.year for d in self.overrides}
        holidays = chinese_calendar.constants.holidays
        workdays = chinese_calendar.constants.workdays
        n = (LAST_DAY - FIRST_DAY).days + 1
        self._work = bytearray(n)
        self._cum: list[int] = [0] * n
        count = 0
        for i in range(n):
            day = FIRST_DAY + timedelta(days=i)
            override = self.overrides.get(day)
            if override is not None:
                work = override.is_workday
            elif day.year in self._builtin:
                work = day in workdays or (day.weekday() < 5 and day not in holidays)
            else:
                work = day.weekday() < 5
            self._work[i] = work
            count += work
            self._cum[i] = count

    # -- lookups -------------------------------------------------------------------

    def _index(self, day: date) -> int:
        i = (day - FIRST_DAY).days
        if not 0 <= i < len(self._work):
            raise ValueError(f"日期 {day} 超出日历范围（{FIRST_DAY.year}–{LAST_DAY.year}）")
        return i

    def covers(self, year: int) -> bool:
        return year in self.covered_years

    def is_workday(self, day: date) -> bool:
        return bool(self._work[self._index(day)])

    def holiday_name(self, day: date) -> str:
        if day in self.overrides:
            return self.overrides[day].name
        if day.year in self._builtin:
            _on, name = chinese_calendar.get_holiday_detail(day)
            return name or ""
        return ""

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (start itself not counted).

        For n == 0: ``start`` when it is a working day, else the next working day.
        """
        i = self._index(start)
        if n <= 0:
            target = self._cum[i] if self._work[i] else self._cum[i] + 1
        else:
            target = self._cum[i] + n
        j = bisect_left(self._cum, target, lo=i)
        if j >= len(self._cum):
            raise ValueError("期限超出日历范围")
        return FIRST_DAY + timedelta(days=j)

    def next_workday_on_or_after(self, day: date) -> date:
        return self.add_workdays(day, 0)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end >= start:
            return self._cum[self._index(end)] - self._cum[self._index(start)]
        return -(self._cum[self._index(start)] - self._cum[self._index(end)])

    def remaining(self, today: date, deadline: date) -> int:
        """Working days left: 0 = due today, negative = working days overdue."""
        return self.workdays_between(today, deadline)

    def provisional(self, *days: date) -> bool:
        """True when any year from the first to the last of ``days`` is not covered."""
        years = range(min(d.year for d in days), max(d.year for d in days) + 1)
        return any(y not in self.covered_years for y in years)

    def uncovered(self, years: Iterable[int]) -> list[int]:
        return [y for y in years if y not in self.covered_years]

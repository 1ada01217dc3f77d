"""Deadlines on the official calendar, checked by hand against the State Council schedules.

2025 (国办发明电〔2024〕12号): 元旦 Jan 1; 春节 Jan 28–Feb 4, Sun Jan 26 and Sat Feb 8
worked; 清明 Apr 4–6; 劳动节 May 1–5, Sun Apr 27 worked; 端午 May 31–Jun 2;
国庆·中秋 Oct 1–8, Sun Sep 28 and Sat Oct 11 worked.
2026 (国办发明电〔2025〕7号): 元旦 Jan 1–3, Sun Jan 4 worked; 春节 Feb 15–23, Sat Feb 14
and Sat Feb 28 worked; 劳动节 May 1–5, Sat May 9 worked; 中秋 Sep 25–27;
国庆 Oct 1–7, Sun Sep 20 and Sat Oct 10 worked.
Every expected date below is counted on those lists; the receipt day is never counted.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from app import cli, deadlines, paths
from app.errors import ValidationError
from app.services import calendar
from app.vocab import ClockState
from app.workcal import DayOverride, WorkCalendar, builtin_years

RULES = json.loads((paths.RESOURCES / "deadline_rules.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def due(cal, kind, received, rule_set="township"):
    return deadlines.due_date(cal, RULES, rule_set, kind, received)


def d(text: str) -> date:
    return date.fromisoformat(text)


REST_DAYS = (
    # 2025
    ["2025-01-01"] + [f"2025-01-{x}" for x in range(28, 32)] + [f"2025-02-0{x}" for x in range(1, 5)]
    + ["2025-04-04", "2025-05-01", "2025-05-02", "2025-05-05", "2025-06-02"]
    + [f"2025-10-0{x}" for x in range(1, 9)]
    # 2026
    + ["2026-01-01", "2026-01-02"] + [f"2026-02-{x}" for x in range(16, 24)]
    + ["2026-04-06", "2026-05-04", "2026-05-05", "2026-06-19", "2026-09-25"]
    + [f"2026-10-0{x}" for x in range(1, 8)]
)
TIAOXIU_WORKDAYS = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
                    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]


@pytest.mark.parametrize("day", REST_DAYS)
def test_holiday_weekdays_are_rest_days(cal, day):
    assert not cal.is_workday(d(day))


@pytest.mark.parametrize("day", TIAOXIU_WORKDAYS)
def test_tiaoxiu_weekends_are_working_days(cal, day):
    assert d(day).weekday() >= 5
    assert cal.is_workday(d(day))


@pytest.mark.parametrize("kind,received,expected", [
    # Mon 2025-03-03, a month without holidays: Mar 4-7 (4), 10-14 (9), 17-21 (14), 24 (15) ...
    ("建议", "2025-03-03", "2025-03-24"),
    # ... 24-28 (19), 31 (20).
    ("求决", "2025-03-03", "2025-03-31"),
    # ... Apr 1-3 (23), 清明 Apr 4-6 off, Apr 7-11 (28), 14 (29), 15 (30).
    ("投诉", "2025-03-03", "2025-04-15"),
    # Received on a Friday: the next day counted is Monday.
    ("建议", "2025-03-07", "2025-03-28"),
])
def test_receipt_day_is_not_counted(cal, kind, received, expected):
    result = due(cal, kind, d(received))
    assert result.due == d(expected)
    assert not result.provisional


@pytest.mark.parametrize("received,expected", [
    ("2025-03-05", "2025-03-05"),  # an ordinary Wednesday: answered the same day
    ("2025-10-11", "2025-10-11"),  # a 调休 Saturday is a working day
    ("2025-01-26", "2025-01-26"),  # so is the 调休 Sunday before 春节
    ("2025-01-25", "2025-01-26"),  # a plain Saturday: the next working day is that Sunday
    ("2025-10-01", "2025-10-09"),  # 国庆: the first working day after Oct 1-8
    ("2025-03-08", "2025-03-10"),  # a weekend: Monday
])
def test_consultation_same_working_day(cal, received, expected):
    assert due(cal, "咨询", d(received)).due == d(expected)


def test_tiaoxiu_saturday_counts_as_a_working_day(cal):
    # Fri 2025-02-07 + 1 working day = Sat 2025-02-08 (worked for 春节).
    assert cal.add_workdays(d("2025-02-07"), 1) == d("2025-02-08")
    # 求决 received Fri 2025-09-26: Sun Sep 28 (1), Sep 29-30 (3), Oct 1-8 off, Oct 9-10 (5),
    # Sat Oct 11 (6), Oct 13-17 (11), 20-24 (16), 27-30 (20).
    assert due(cal, "求决", d("2025-09-26")).due == d("2025-10-30")


def test_spring_festival_2025(cal):
    # Fri 2025-01-24: Sun Jan 26 (1), Jan 27 (2), Jan 28-Feb 4 off, Feb 5-7 (5), Sat Feb 8 (6),
    # Feb 10-14 (11), 17-21 (16), 24-27 (20).
    assert due(cal, "求决", d("2025-01-24")).due == d("2025-02-27")


def test_national_day_2026(cal):
    # Fri 2026-09-25 (中秋, itself a holiday): Sep 26-27 off, Sep 28-30 (3), Oct 1-7 off,
    # Oct 8-9 (5), Sat Oct 10 (6), Oct 12-16 (11), 19-23 (16), 26-29 (20).
    assert due(cal, "求决", d("2026-09-25")).due == d("2026-10-29")
    # The Sunday before, Sep 20, is worked: 1 working day after Sat Sep 19 is Sep 20.
    assert cal.add_workdays(d("2026-09-19"), 1) == d("2026-09-20")


def test_year_boundary_2025_to_2026(cal):
    # Mon 2025-12-22: Dec 23-26 (4), Dec 29-31 (7), 2026 Jan 1-3 off, Sun Jan 4 worked (8),
    # Jan 5-9 (13), 12-16 (18), 19-20 (20).
    result = due(cal, "求决", d("2025-12-22"))
    assert result.due == d("2026-01-20")
    assert not result.provisional
    # 7-working-day rework clock from Wed 2025-12-31: Sun Jan 4 (1), Jan 5-9 (6), Jan 12 (7).
    assert due(cal, "复办", d("2025-12-31")).due == d("2026-01-12")


def test_remaining_working_days_across_a_holiday(cal):
    # From Thu 2025-09-25 to Thu 2025-10-09: Sep 26, Sun 28, 29, 30, Oct 9 = 5 working days.
    assert cal.remaining(d("2025-09-25"), d("2025-10-09")) == 5
    assert cal.remaining(d("2025-10-09"), d("2025-09-25")) == -5
    state, left = deadlines.clock_state(cal, d("2025-09-25"), d("2025-10-09"), open_=True, paused=False,
                                        due_soon_days=3)
    assert (state, left) == (ClockState.NORMAL, 5)
    state, left = deadlines.clock_state(cal, d("2025-09-30"), d("2025-10-09"), open_=True, paused=False,
                                        due_soon_days=3)
    assert (state, left) == (ClockState.DUE_SOON, 1)
    state, left = deadlines.clock_state(cal, d("2025-10-13"), d("2025-10-09"), open_=True, paused=False,
                                        due_soon_days=3)
    assert (state, left) == (ClockState.OVERDUE, -3)  # Oct 10, Sat Oct 11 and Oct 13 are past due


@pytest.mark.parametrize("received,expected", [
    ("2025-03-03", "2025-05-06"),  # +60 = Fri May 2 (劳动节); May 3-5 off too -> Tue May 6
    ("2025-06-02", "2025-08-01"),  # +60 = Fri Aug 1, a working day
    ("2025-07-30", "2025-09-28"),  # +60 = Sun Sep 28, worked for 国庆: stays
    ("2025-08-02", "2025-10-09"),  # +60 = Wed Oct 1 -> first working day after 国庆
])
def test_petition_rule_counts_calendar_days(cal, received, expected):
    result = due(cal, "求决", d(received), rule_set="petition")
    assert (d(received) + timedelta(days=60)).isoformat() <= expected
    assert result.due == d(expected)


def test_hotline_rules(cal):
    # 12345: 咨询 3 working days; from Tue 2025-09-30: Oct 9, 10, Sat Oct 11.
    assert due(cal, "咨询", d("2025-09-30"), rule_set="hotline").due == d("2025-10-11")


def test_uncovered_year_is_provisional(cal):
    assert builtin_years()[-1] == 2026, (
        "chinese-calendar now ships 2027: move the uncovered-year tests (here and in the CLI "
        "tests below) to the first year it lacks")
    assert cal.covers(2025) and cal.covers(2026)
    assert not cal.covers(2027)
    inside = due(cal, "求决", d("2026-11-02"))
    assert not inside.provisional
    # Mon 2026-12-21 + 20 working days reaches 2027; without a schedule only weekends are
    # known: Dec 22-25 (4), 28-31 (8), Fri Jan 1 (9, unknown!), Jan 4-8 (14), 11-15 (19), 18 (20).
    across = due(cal, "求决", d("2026-12-21"))
    assert across.provisional
    assert across.due == d("2027-01-18")
    assert due(cal, "咨询", d("2027-03-01")).provisional


def test_holiday_table_override_covers_a_year():
    cal = WorkCalendar([DayOverride(d("2027-01-01"), False, "元旦")])
    assert cal.covers(2027)
    assert not cal.is_workday(d("2027-01-01"))
    assert cal.holiday_name(d("2027-01-01")) == "元旦"
    across = due(cal, "求决", d("2026-12-21"))
    assert not across.provisional
    assert across.due == d("2027-01-19")  # Jan 1 no longer counted


def test_override_beats_builtin_data():
    # Staff can correct a day the built-in data has wrong, e.g. declare a local workday.
    cal = WorkCalendar([DayOverride(d("2025-10-08"), True, "抢险值班")])
    assert cal.is_workday(d("2025-10-08"))
    assert cal.add_workdays(d("2025-09-30"), 1) == d("2025-10-08")


# -- through the database and the command line ------------------------------------------


def run_cli(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


HOLIDAYS_2027 = "date,休/班,name\n2027-01-01,休,元旦\n2027-01-02,休,元旦\n2027-01-03,休,元旦\n"


def test_cli_deadline(tmp_path, capsys):
    target = str(tmp_path / "cli.sqlite")
    code, out, _ = run_cli(capsys, "--db", target, "deadline", "求决", "2026-09-25")
    assert code == 0
    assert out.strip().splitlines()[-1] == "2026-10-29"

    code, out, err = run_cli(capsys, "--db", target, "deadline", "求决", "2027-01-05")
    assert code == 3
    assert "2027" in err and "节假日" in err and "holidays import" in err

    # Reaching into 2027 from 2026 is computed, but flagged as provisional.
    code, out, err = run_cli(capsys, "--db", target, "deadline", "求决", "2026-12-28")
    assert code == 0
    # Dec 29-31 (3), Fri Jan 1 counted for want of data (4), Jan 4-8 (9), 11-15 (14),
    # 18-22 (19), 25 (20).
    assert out.strip().splitlines()[-1] == "2027-01-25"
    assert "暂定" in err


def test_cli_holidays_import_covers_the_year(tmp_path, capsys):
    target = str(tmp_path / "cli.sqlite")
    csv_file = tmp_path / "2027.csv"
    csv_file.write_text(HOLIDAYS_2027, encoding="utf-8")
    code, out, _ = run_cli(capsys, "--db", target, "holidays", "import", str(csv_file))
    assert code == 0 and "3" in out

    code, out, err = run_cli(capsys, "--db", target, "deadline", "求决", "2027-01-05")
    assert code == 0
    # Tue 2027-01-05: Jan 6-8 (3), 11-15 (8), 18-22 (13), 25-29 (18), Feb 1-2 (20).
    assert out.strip().splitlines()[-1] == "2027-02-02"
    code, out, err = run_cli(capsys, "--db", target, "deadline", "求决", "2026-12-28")
    # Now Jan 1 is a holiday: the 20th working day moves one day later and is not provisional.
    assert out.strip().splitlines()[-1] == "2027-01-26"
    assert "暂定" not in err

    code, out, _ = run_cli(capsys, "--db", target, "holidays", "list", "--year", "2027")
    assert out.splitlines() == ["2027-01-01\t休\t元旦", "2027-01-02\t休\t元旦", "2027-01-03\t休\t元旦"]


def test_coverage_warns_about_the_next_year(ledger, tmp_path):
    with ledger.db.read() as s:
        cov = calendar.coverage(s, today=d("2026-11-22"))
    assert cov.missing == [2027]
    assert "2027" in cov.warning()
    csv_file = tmp_path / "2027.csv"
    csv_file.write_text(HOLIDAYS_2027, encoding="gbk")  # staff save CSVs from Excel in GBK too
    with ledger.db.write() as s:
        assert calendar.import_holidays(s, ledger.people.admin, csv_file) == 3
    with ledger.db.read() as s:
        cov = calendar.coverage(s, today=d("2026-11-22"))
        assert cov.missing == []
        assert cov.table_years == [2027]
        assert calendar.load_calendar(s).covers(2027)
        # Three rest days is far from a whole official schedule: the coverage says so.
        assert "2027 年只录入了 3 个休息日" in cov.warning()
    spring = "".join(f"2027-02-{day:02d},休,春节\n" for day in range(5, 18))
    csv_file.write_text(spring, encoding="utf-8")
    with ledger.db.write() as s:
        calendar.import_holidays(s, ledger.people.admin, csv_file)
    with ledger.db.read() as s:
        assert calendar.coverage(s, today=d("2026-11-22")).warning() == ""


def test_bad_holiday_csv_names_the_line(ledger, tmp_path):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("2027-01-01,休,元旦\n2027-13-01,休,元旦\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="第 2 行"), ledger.db.write() as s:
        calendar.import_holidays(s, ledger.people.admin, csv_file)
    with ledger.db.read() as s:
        assert not calendar.load_calendar(s).covers(2027)  # nothing half-imported


def test_registered_deadline_running_into_an_uncovered_year_is_provisional(ledger):
    # 投诉 received Fri 2026-11-20: Nov 23-27 (5), Nov 30-Dec 4 (10), Dec 7-11 (15),
    # 14-18 (20), 21-25 (25), 28-31 (29), Fri 2027-01-01 (30) -- a day nobody has scheduled yet.
    dem = ledger.demand(ledger.register("投诉", d("2026-11-20")))
    assert (dem.deadline, dem.deadline_provisional) == (d("2027-01-01"), True)
    # 求决 from the same day ends within 2026: Dec 14-18 holds the 20th working day.
    dem = ledger.demand(ledger.register("求决", d("2026-11-20")))
    assert (dem.deadline, dem.deadline_provisional) == (d("2026-12-18"), False)

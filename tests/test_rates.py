"""The rates of DOMAIN.md on a small data set whose every figure is checked by hand.

Ten demands are taken through the services with explicit dates (March–April 2025, no
holiday in March; 清明 Apr 4–6). ``FACTS`` states what happened to each one, written
by hand; the expected figures are counted from ``FACTS`` with the definitions, and the
totals are also spelled out as numbers in the asserts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import pytest

from app import cli
from app.services import demands, rates
from app.services.rates import Period, Ratio
from app.vocab import DemandType, Status

A, B, C = "柳树村", "河东社区", "青山村"
MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
APRIL = Period.month("2025-04")


def d(text: str) -> date:
    return date.fromisoformat(text)


@dataclass
class Fact:
    type: str
    received: date
    village: str
    deadline: date  # counted by hand; after a 不满意 it is the rework deadline
    valid: bool = True
    closed: date | None = None  # the date of the 4th signature that finally closed it
    first_level_village: bool = False
    moved_up: bool = False
    repeat: bool = False
    evaluations: list[tuple[date, str]] = field(default_factory=list)


FACTS = {
    # 求决 Mon 03-03: 20 working days -> Mon 03-31. Village-level, closed early, 满意.
    "D1": Fact("求决", d("2025-03-03"), A, d("2025-03-31"), closed=d("2025-03-20"), first_level_village=True,
               evaluations=[(d("2025-03-21"), "满意")]),
    # 求决 Fri 02-28 -> Fri 03-28; closed only on 04-02 (received in February).
    "D2": Fact("求决", d("2025-02-28"), A, d("2025-03-28"), closed=d("2025-04-02"), first_level_village=True),
    # 建议 Mon 03-03: 15 working days -> Mon 03-24; township level; closed late on 03-26.
    "D3": Fact("建议", d("2025-03-03"), B, d("2025-03-24"), closed=d("2025-03-26"),
               evaluations=[(d("2025-03-27"), "基本满意")]),
    # 咨询 Wed 03-05 answered on the spot and signed the same day; 不满意 on Thu 03-06 ->
    # rework due 7 working days later, Mon 03-17; closed again 03-14; then 满意.
    "D4": Fact("咨询", d("2025-03-05"), B, d("2025-03-17"), closed=d("2025-03-14"),
               evaluations=[(d("2025-03-06"), "不满意"), (d("2025-03-18"), "满意")]),
    # 咨询 Tue 03-04, screened out as 不属于受理范围 (deadline would be the same day).
    "D5": Fact("咨询", d("2025-03-04"), C, d("2025-03-04"), valid=False),
    # 求决 Mon 03-10 by D1's petitioner again (a repeat) -> Tue 04-08 (清明 skipped);
    # first given to the village, moved up to the district, closed 03-28.
    "D6": Fact("求决", d("2025-03-10"), C, d("2025-04-08"), closed=d("2025-03-28"), first_level_village=True,
               moved_up=True, repeat=True),
    # 求决 Tue 03-11 -> Wed 04-09; still in handling at the village.
    "D7": Fact("求决", d("2025-03-11"), A, d("2025-04-09"), first_level_village=True),
    # 建议 Wed 03-12 -> Wed 04-02; screened as 重复 of D3.
    "D8": Fact("建议", d("2025-03-12"), B, d("2025-04-02"), valid=False, repeat=True),
    # 求决 Tue 04-01 -> Tue 04-29 (Sun 04-27 worked for 劳动节); village, closed 04-10, 满意.
    "D9": Fact("求决", d("2025-04-01"), A, d("2025-04-29"), closed=d("2025-04-10"), first_level_village=True,
               evaluations=[(d("2025-04-11"), "满意")]),
    # 求决 Mon 03-03 -> Mon 03-31; township office first, moved down to the village,
    # closed on the deadline day itself (on time); 基本满意 in April.
    "D10": Fact("求决", d("2025-03-03"), B, d("2025-03-31"), closed=d("2025-03-31"),
                evaluations=[(d("2025-04-01"), "基本满意")]),
}


def build(led) -> dict[str, str]:
    """Take the ten demands through the services; returns key -> case number."""
    p, t, db = led.people, led.town, led.db
    codes: dict[str, str] = {}

    def reg(key, phone):
        f = FACTS[key]
        codes[key] = led.register(f.type, f.received, f.village, phone=phone)
        return codes[key]

    def accept_and_assign(code, unit):
        with db.write() as s:
            demands.screen(s, p.registrar, code, "有效")
            demands.review(s, p.deputy, code, "合理")
            demands.assign(s, p.registrar, code, unit)

    def finish(code, on):
        with db.write() as s:
            demands.submit_signoff(s, p.handler, code, "已办结")
        led.sign_all(code, on)

    def evaluate(code, on, result):
        with db.write() as s:
            demands.evaluate(s, p.registrar, code, result, on=on)

    c = reg("D1", "13900000001")
    accept_and_assign(c, t.village_units[A])
    finish(c, d("2025-03-20"))
    evaluate(c, d("2025-03-21"), "满意")

    c = reg("D2", "13900000002")
    accept_and_assign(c, t.village_units[A])
    finish(c, d("2025-04-02"))

    c = reg("D3", "13900000003")
    accept_and_assign(c, t.township_unit)
    finish(c, d("2025-03-26"))
    evaluate(c, d("2025-03-27"), "基本满意")

    c = reg("D4", "13900000004")
    with db.write() as s:
        demands.answer_on_spot(s, p.handler, c, "已当场解答")
    led.sign_all(c, d("2025-03-05"))
    evaluate(c, d("2025-03-06"), "不满意")
    finish(c, d("2025-03-14"))
    evaluate(c, d("2025-03-18"), "满意")

    c = reg("D5", "13900000005")
    with db.write() as s:
        demands.screen(s, p.registrar, c, "不属于受理范围", "属司法诉讼事项，已引导走诉讼程序")

    c = reg("D6", "13900000001")  # D1's petitioner again
    accept_and_assign(c, t.village_units[C])
    with db.write() as s:
        demands.transfer(s, p.handler, c, t.district_unit, "需区住建局处理")
    finish(c, d("2025-03-28"))

    c = reg("D7", "13900000007")
    accept_and_assign(c, t.village_units[A])

    c = reg("D8", "13900000008")
    with db.write() as s:
        demands.screen(s, p.registrar, c, "重复", "与前案同一事项", duplicate_of=codes["D3"])

    c = reg("D9", "13900000009")
    accept_and_assign(c, t.village_units[A])
    finish(c, d("2025-04-10"))
    evaluate(c, d("2025-04-11"), "满意")

    c = reg("D10", "13900000010")
    accept_and_assign(c, t.office_unit)
    with db.write() as s:
        demands.transfer(s, p.handler, c, t.village_units[B], "属村内事务，交村里办理")
    finish(c, d("2025-03-31"))
    evaluate(c, d("2025-04-01"), "基本满意")
    return codes


@pytest.fixture(scope="module")
def data(module_ledger):
    return module_ledger, build(module_ledger)


# -- the definitions, applied to FACTS --------------------------------------------------


def group_of(f: Fact, by: str | None):
    return {None: None, "village": f.village, "type": f.type}[by]


def tally(pairs) -> dict:
    out: dict = {}
    for key, hit in pairs:
        n, m = out.get(key, (0, 0))
        out[key] = (n + bool(hit), m + 1)
    return {k: Ratio(n, m) for k, (n, m) in out.items()}


def inside(day, period):
    return day is not None and period.start <= day <= period.end


def done_by(f, period):
    return f.closed is not None and f.closed <= period.end


def expected(rate: str, period: Period, by: str | None) -> dict:
    facts = FACTS.values()
    if rate == "completion":  # valid demands due in the period; closed by its end
        return tally((group_of(f, by), done_by(f, period)) for f in facts if f.valid and inside(f.deadline, period))
    if rate == "on_time":  # of those closed: closed on or before the deadline
        return tally((group_of(f, by), f.closed <= f.deadline) for f in facts
                     if f.valid and inside(f.deadline, period) and done_by(f, period))
    if rate in ("satisfaction", "satisfied"):  # evaluations made in the period
        good = ("满意", "基本满意") if rate == "satisfaction" else ("满意",)
        return tally((group_of(f, by), result in good) for f in facts for day, result in f.evaluations
                     if inside(day, period))
    if rate == "repeat":  # repeats among the demands received
        return tally((group_of(f, by), f.repeat) for f in facts if inside(f.received, period))
    if rate == "village_resolution":  # first given to a village; closed without moving up
        return tally((group_of(f, by), done_by(f, period) and not f.moved_up) for f in facts
                     if inside(f.received, period) and f.first_level_village)
    raise KeyError(rate)


def named(led, result: dict, by: str | None) -> dict:
    """Turn group keys (ids, enum codes) into the names FACTS uses."""
    if by == "village":
        names = {v: k for k, v in led.town.villages.items()}
        return {names[k]: r for k, r in result.items()}
    if by == "type":
        return {DemandType(k).label: r for k, r in result.items()}
    return result


# -- tests --------------------------------------------------------------------------------


def test_the_data_set_is_what_the_facts_say(data):
    led, codes = data
    for key, f in FACTS.items():
        dem = led.demand(codes[key])
        assert dem.deadline == f.deadline, key
        assert dem.closed_on == (f.closed if dem.status in (Status.CLOSED, Status.EVALUATED) else None), key
        assert (dem.status is not Status.INVALID) == f.valid, key
        assert dem.is_repeat == f.repeat, key
    assert led.demand(codes["D7"]).status is Status.HANDLING
    assert led.demand(codes["D2"]).status is Status.CLOSED


def test_march_totals_by_hand(data):
    led, _ = data
    with led.db.read() as s:
        # 办结率: due in March and valid: D1, D2, D3, D4, D10; closed by Mar 31: all but D2.
        assert rates.completion_rate(s, MARCH) == {None: Ratio(4, 5)}
        # 按期: D1, D4, D10 on or before the deadline; D3 two days late.
        assert rates.on_time_rate(s, MARCH) == {None: Ratio(3, 4)}
        # Evaluations in March: D1 满意, D3 基本满意, D4 不满意 and later 满意.
        assert rates.satisfaction_rate(s, MARCH) == {None: Ratio(3, 4)}
        assert rates.satisfied_only_rate(s, MARCH) == {None: Ratio(2, 4)}
        # Received in March: D1, D3-D8, D10 = 8; repeats D6 (same petitioner) and D8 (重复).
        assert rates.repeat_rate(s, MARCH) == {None: Ratio(2, 8)}
        # First assigned to a village: D1, D6, D7; only D1 closed without moving up.
        assert rates.village_resolution_rate(s, MARCH) == {None: Ratio(1, 3)}
        # Received 8, of which valid 6 (D5 out of scope, D8 duplicate).
        assert rates.received(s, MARCH) == {None: Ratio(6, 8)}
        assert rates.completion_rate(s, MARCH)[None].percent() == "80.00%"


def test_april_totals_by_hand(data):
    led, _ = data
    with led.db.read() as s:
        # Due in April and valid: D6 (closed Mar 28), D7 (open), D9 (closed Apr 10).
        assert rates.completion_rate(s, APRIL) == {None: Ratio(2, 3)}
        assert rates.on_time_rate(s, APRIL) == {None: Ratio(2, 2)}
        # Evaluations in April: D9 满意, D10 基本满意.
        assert rates.satisfaction_rate(s, APRIL) == {None: Ratio(2, 2)}
        assert rates.satisfied_only_rate(s, APRIL) == {None: Ratio(1, 2)}
        assert rates.repeat_rate(s, APRIL) == {None: Ratio(0, 1)}
        assert rates.village_resolution_rate(s, APRIL) == {None: Ratio(1, 1)}


RATE_FUNCTIONS = {
    "completion": rates.completion_rate, "on_time": rates.on_time_rate,
    "satisfaction": rates.satisfaction_rate, "satisfied": rates.satisfied_only_rate,
    "repeat": rates.repeat_rate, "village_resolution": rates.village_resolution_rate,
}


@pytest.mark.parametrize("by", [None, "village", "type"])
@pytest.mark.parametrize("period", [MARCH, APRIL], ids=["2025-03", "2025-04"])
@pytest.mark.parametrize("rate", list(RATE_FUNCTIONS))
def test_rate_matches_the_definition(data, rate, period, by):
    led, _ = data
    with led.db.read() as s:
        got = named(led, RATE_FUNCTIONS[rate](s, period, by), by)
    assert got == expected(rate, period, by)


def test_march_by_village_by_hand(data):
    led, _ = data
    with led.db.read() as s:
        completion = named(led, rates.completion_rate(s, MARCH, "village"), "village")
        repeat = named(led, rates.repeat_rate(s, MARCH, "village"), "village")
        resolution = named(led, rates.village_resolution_rate(s, MARCH, "village"), "village")
    # 柳树村: D1 closed, D2 not yet; 河东社区: D3, D4, D10 all closed; 青山村: only D5, invalid.
    assert completion == {A: Ratio(1, 2), B: Ratio(3, 3)}
    # 柳树村 received D1, D7; 河东社区 D3, D4, D8 (repeat), D10; 青山村 D5, D6 (repeat).
    assert repeat == {A: Ratio(0, 2), B: Ratio(1, 4), C: Ratio(1, 2)}
    assert resolution == {A: Ratio(1, 2), C: Ratio(0, 1)}


def test_stats_table_and_cli_agree(data, capsys):
    led, _ = data
    with led.db.read() as s:
        [total] = rates.stats(s, MARCH)
    assert (total.received, total.valid) == (8, 6)
    assert total.rates["completion"] == Ratio(4, 5)

    db_file = led.db.url.removeprefix("sqlite:///")
    assert cli.main(["--db", db_file, "stats", "--month", "2025-03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["period"] == {"from": "2025-03-01", "to": "2025-03-31"}
    [row] = out["rows"]
    assert (row["received"], row["valid"]) == (8, 6)
    figures = {name: (row[name]["numerator"], row[name]["denominator"]) for name in RATE_FUNCTIONS}
    assert figures == {"completion": (4, 5), "on_time": (3, 4), "satisfaction": (3, 4), "satisfied": (2, 4),
                       "repeat": (2, 8), "village_resolution": (1, 3)}
    assert row["completion"]["rate"] == 0.8
    assert set(out["definitions"]) >= {"completion", "on_time", "satisfaction", "repeat", "village_resolution"}

    assert cli.main(["--db", db_file, "stats", "--month", "2025-03", "--by", "village", "--json"]) == 0
    rows = {r["group"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert {g: (r["received"], r["valid"]) for g, r in rows.items()} == {A: (2, 2), B: (4, 3), C: (2, 1)}
    assert (rows[B]["completion"]["numerator"], rows[B]["completion"]["denominator"]) == (3, 3)


def test_stats_text_output_states_period_and_definitions(data, capsys):
    led, _ = data
    db_file = led.db.url.removeprefix("sqlite:///")
    assert cli.main(["--db", db_file, "stats", "--month", "2025-03"]) == 0
    out = capsys.readouterr().out
    assert "2025-03-01 至 2025-03-31" in out
    assert "80.00%(4/5)" in out
    assert "口径" in out and rates.DEFINITIONS["completion"] in out

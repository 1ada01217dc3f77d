"""Core figures: demo generation, `stats`, list queries and database size.

Run: python bench/bench_core.py [--demands 200000] [--keep PATH]
Prints one line per figure. Sizes: 40,000 (a district's four years) and 200,000 (design target).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from app.db import Database
from app.services import queries, rates
from app.services.demo import DemoSpec, generate


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - t0:.2f} s")
    return result


def run(n: int, path: Path) -> None:
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    print(f"== {n} demands ==")
    timed(f"demo generation ({n})", lambda: generate(db, DemoSpec(demands=n, seed=1)))
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    print(f"database size: {size / 1e6:.1f} MB ({size / n:.0f} bytes/demand)")
    today = date.today()
    month = rates.Period.month(f"{today.year}-{today.month:02d}")
    year = rates.Period(date(today.year - 1, 1, 1), today)
    with db.read() as s:
        timed("stats, current month, total", lambda: rates.stats(s, month))
        timed("stats, 23 months, by village", lambda: rates.stats(s, year, "village"))
        timed("stats, 23 months, by category", lambda: rates.stats(s, year, "category"))
        timed("count overdue", lambda: queries.count(s, queries.DemandFilter(overdue=True)))
        timed("first 100 rows, newest first", lambda: queries.rows(s, queries.DemandFilter(), limit=100))
        timed("text search '路灯' (2 chars)", lambda: queries.count(s, queries.DemandFilter(text="路灯")))
        timed("text search '垃圾清运' (4 chars)", lambda: queries.count(s, queries.DemandFilter(text="垃圾清运")))
    db.dispose()
    print(f"peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demands", type=int, nargs="*", default=[40_000, 200_000])
    ap.add_argument("--dir", type=Path)
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="kuaichu-bench-"))
    for n in args.demands:
        run(n, base / f"bench-{n}.sqlite")


if __name__ == "__main__":
    main()

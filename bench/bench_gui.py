"""Desktop figures on a large database: start to a usable main window, first ledger rows,
a text search, a filter change, and the process's memory.

Run: QT_QPA_PLATFORM=offscreen python bench/bench_gui.py [--db PATH] [--demands 200000]
Without --db a demo database of --demands demands is generated first (about 50 s for 200,000).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def wait(signal, timeout_ms: int = 60_000) -> float:  # type: ignore[no-untyped-def]
    """Block in a local event loop until ``signal`` fires; returns the seconds waited."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    t = time.perf_counter()
    loop.exec()
    signal.disconnect(loop.quit)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path)
    ap.add_argument("--demands", type=int, default=200_000)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("KUAICHU_DATA_DIR", tempfile.mkdtemp(prefix="kuaichu-gui-bench-"))
    db_path = args.db
    if db_path is None:
        from app.db import Database
        from app.services.demo import DemoSpec, generate

        db_path = Path(tempfile.mkdtemp()) / "bench.sqlite"
        db = Database(f"sqlite:///{db_path}")
        db.upgrade()
        t = time.perf_counter()
        generate(db, DemoSpec(demands=args.demands, seed=1))
        db.dispose()
        print(f"demo generation ({args.demands}): {time.perf_counter() - t:.1f} s")
        global T0
        T0 = time.perf_counter()

    from PySide6.QtWidgets import QApplication

    from app import paths
    from app.db import open_database
    from app.services import setup
    from app.services.queries import DemandFilter
    from app.views.context import AppContext
    from app.views.fonts import apply_font
    from app.views.main_window import MainWindow

    db = open_database(str(db_path))
    app = QApplication.instance() or QApplication([])
    apply_font(app)
    with db.read() as s:
        user = setup.authenticate(s, "zhuren", "demo")
    ctx = AppContext(db=db, user=user, files_dir=paths.attachments_dir(db.url))
    window = MainWindow(ctx, start_page="ledger")
    ledger = window.page("ledger")
    seen: dict[str, float] = {}
    ledger.model.first_page.connect(lambda _n: seen.setdefault("first", time.perf_counter()))
    ledger.loaded.connect(lambda _n: seen.setdefault("all", time.perf_counter()))
    window.show()
    app.processEvents()
    shown = time.perf_counter()
    print(f"start to main window shown (imports, database, login, window): {shown - T0:.2f} s")
    while "all" not in seen:
        wait(ledger.loaded)
    first = seen.get("first", seen["all"])
    print(f"ledger first rows visible: {max(0.0, first - shown):.2f} s after the window "
          f"({first - T0:.2f} s from start)")
    print(f"ledger full id list and count ({ledger.count} demands): {seen['all'] - shown:.2f} s after the window")

    for text in ("垃圾清运", "王建"):
        t = time.perf_counter()
        ledger.search.setText(text)
        ledger.apply()
        wait(ledger.loaded)
        print(f"text search '{text}' ({len(text)} chars, {ledger.count} found): {time.perf_counter() - t:.2f} s")
    ledger.search.setText("")
    t = time.perf_counter()
    ledger.set_filter(DemandFilter(overdue=True), "超期")
    wait(ledger.loaded)
    print(f"filter change to 超期 ({ledger.count} found): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    ledger.table.scrollToBottom()
    app.processEvents()
    print(f"scroll to the last row: {time.perf_counter() - t:.3f} s")
    print(f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    window.close()
    from app.views import tasks

    tasks.wait_all()
    db.dispose()


if __name__ == "__main__":
    main()

"""Document figures: one typical dossier, a dossier with 20 camera photos, 500 dossiers,
the sign-off sheet, the weekly and monthly reports, scan recognition, and peak memory.

Run: python bench/bench_reports.py [--demands 3000] [--dossiers 500] [--dir DIR]
Prints one line per figure. Fonts are the bundled ones (KUAICHU_PDF_FONT=bundled).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFilter

from app import paths
from app.db import open_database
from app.models import Demand, User
from app.reports import fonts
from app.reports.dossier import make_dossier, make_dossiers
from app.reports.monthly import make_monthly_report
from app.reports.scans import attach_scan
from app.reports.signoff_sheet import make_signoff_sheet
from app.reports.weekly import last_friday, make_weekly_report
from app.services import demands
from app.services.demo import DemoSpec, generate
from app.vocab import Status


def seconds(fn, repeat: int = 1) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def camera_photo(path: Path, seed: int) -> Path:
    """A 4000×3000 JPEG with detail and noise, about the size a phone camera writes."""
    rng = random.Random(seed)
    small = Image.new("RGB", (400, 300), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(small)
    for _ in range(120):
        x, y = rng.randrange(400), rng.randrange(300)
        draw.rectangle((x, y, x + rng.randrange(5, 80), y + rng.randrange(5, 60)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    big = small.resize((4000, 3000), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    Image.blend(big, noise, 0.12).save(path, "JPEG", quality=90)
    return path


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demands", type=int, default=3000)
    ap.add_argument("--dossiers", type=int, default=500)
    ap.add_argument("--dir", type=Path)
    args = ap.parse_args()
    os.environ.setdefault(fonts.ENV_FONT, "bundled")
    base = args.dir or Path(tempfile.mkdtemp(prefix="kuaichu-bench-reports-"))
    base.mkdir(parents=True, exist_ok=True)
    db_file = base / "reports.sqlite"
    for p in base.glob("reports.sqlite*"):
        p.unlink()
    db = open_database(str(db_file))
    today = date.today()
    generate(db, DemoSpec(demands=args.demands, seed=1, today=today))
    files_dir = paths.attachments_dir(db.url)
    out = base / "out"
    out.mkdir(exist_ok=True)
    print(f"== {args.demands} demo demands, output in {out} ==")

    t, _ = seconds(lambda: fonts.fonts())
    print(f"font loading (once per process): {t:.2f} s")
    with db.read() as s:
        typical: str = s.scalar(sa.select(Demand.code).where(Demand.status == Status.EVALUATED, Demand.transfer_count > 0)
                           .order_by(Demand.id.desc()).limit(1)) or ""
        closed = list(s.scalars(sa.select(Demand.code).where(Demand.status.in_((Status.CLOSED, Status.EVALUATED)))
                                .order_by(Demand.code).limit(args.dossiers)))
    t, path = seconds(lambda: make_dossier(db, typical, out / "typical.pdf", files_dir), repeat=5)
    print(f"one typical dossier ({typical}): {t * 1000:.0f} ms, {Path(path).stat().st_size / 1e3:.0f} KB")  # type: ignore[arg-type]
    t, path = seconds(lambda: make_signoff_sheet(db, typical, out / "sheet.pdf"), repeat=5)
    print(f"one sign-off sheet: {t * 1000:.0f} ms, {Path(path).stat().st_size / 1e3:.0f} KB")  # type: ignore[arg-type]

    photos_dir = base / "photos"
    photos_dir.mkdir(exist_ok=True)
    photos = [camera_photo(photos_dir / f"IMG_{i:04d}.jpg", i) for i in range(20)]
    print(f"20 camera photos 4000×3000: {mb(sum(p.stat().st_size for p in photos))} in all")
    with db.write() as s:
        actor = s.scalars(sa.select(User).where(User.username == "banli")).one()
        for i, photo in enumerate(photos):
            demands.attach(s, actor, typical, photo, files_dir, caption=f"现场照片 {i + 1}")
    t, path = seconds(lambda: make_dossier(db, typical, out / "photos.pdf", files_dir), repeat=1)
    print(f"dossier with 20 photos: {t:.2f} s, {mb(Path(path).stat().st_size)}")  # type: ignore[arg-type]

    t, _ = seconds(lambda: make_signoff_sheet(db, closed[0], base / "scan-src.pdf"))
    from app.reports.qr import pdf_pages

    scan = base / "scan.png"
    next(pdf_pages(base / "scan-src.pdf", 200)).save(scan)
    t, _ = seconds(lambda: attach_scan(db, actor, scan, files_dir))
    print(f"recognise and attach one scanned sheet (PNG, 200 dpi): {t * 1000:.0f} ms")

    t, path = seconds(lambda: make_weekly_report(db, last_friday(today), out / "weekly.pdf"))
    print(f"weekly report (week ending {last_friday(today)}): {t:.2f} s")
    month = f"{today.year}-{today.month:02d}" if today.day > 1 else f"{today.year}-{today.month - 1:02d}"
    t, path = seconds(lambda: make_monthly_report(db, month, out / "monthly.pdf"))
    print(f"monthly report ({month}, full): {t:.2f} s")

    t0 = time.perf_counter()
    result = make_dossiers(db, closed, out / "many", files_dir=files_dir)
    t = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in result.written)
    print(f"{len(result.written)} dossiers: {t:.1f} s ({t / max(1, len(result.written)) * 1000:.0f} ms each), "
          f"{mb(size)}, failed {len(result.failed)}")
    print(f"peak RSS of the whole run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    # Memory measured apart from the timings (tracemalloc slows Python several times over).
    for label, fn in (("dossier with 20 photos", lambda: make_dossier(db, typical, out / "photos.pdf", files_dir)),
                      ("50 dossiers in a row", lambda: make_dossiers(db, closed[:50], out / "mem", files_dir=files_dir))):
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak Python memory, {label} (tracemalloc): {mb(peak)}")


if __name__ == "__main__":
    main()

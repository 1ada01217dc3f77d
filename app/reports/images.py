"""Pictures for the documents: photos and scans scaled for print, as JPEG bytes.

A phone photo of 4000×3000 pixels would make a dossier of 20 photos weigh 100 MB; at
``MAX_PIXELS`` on the long side (about 200 dpi across the page width) it prints as well and
weighs a few hundred KB. Orientation from EXIF is applied first.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.reports import qr

log = logging.getLogger(__name__)
MAX_PIXELS = 1400
JPEG_QUALITY = 80
SCAN_RENDER_DPI = 150
Image.MAX_IMAGE_PIXELS = 200_000_000  # large scans are fine; refuse only absurd sizes


@dataclass(frozen=True)
class Picture:
    data: bytes  # JPEG
    width: int
    height: int


def _to_picture(img: Image.Image) -> Picture:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        white = Image.new("RGB", img.size, "white")
        white.paste(img, mask=img.getchannel("A"))
        img = white
    elif img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.thumbnail((MAX_PIXELS, MAX_PIXELS), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return Picture(buf.getvalue(), img.width, img.height)


def load_picture(path: Path) -> Picture | None:
    """The image file scaled for print, or None when the file is not an image."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (MAX_PIXELS, MAX_PIXELS))  # JPEG: decode at 1/2, 1/4 or 1/8 scale when enough
            img.load()
            return _to_picture(img)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        log.debug("not an image: %s (%s)", path, exc)
        return None


def load_pages(path: Path) -> list[Picture]:
    """Every page of a scan (image or PDF) as pictures; empty when it cannot be read."""
    try:
        if qr.is_pdf(path):
            return [_to_picture(img) for img in qr.pdf_pages(path, SCAN_RENDER_DPI)]
    except Exception as exc:  # a damaged PDF
        log.warning("cannot render %s: %s", path, exc)
        return []
    pic = load_picture(path)
    return [pic] if pic else []

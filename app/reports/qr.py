"""QR codes: made with ReportLab's own encoder, read back from scans with zxing-cpp.

A PDF scan is rendered page by page with pypdfium2 before reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageOps
from reportlab.graphics.barcode.qr import QrCode

SCAN_DPI = 200
PDF_SUFFIXES = (".pdf",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")


def qr_flowable(text: str, size: float, level: str = "M") -> QrCode:
    """A square flowable ``size`` points wide with the QR code of ``text`` (quiet zone included).

    ReportLab's flowable draws the modules straight on the canvas (its graphics widget
    would pull the non-embedded Helvetica into the PDF).
    """
    return QrCode(text, width=size, height=size, qrLevel=level, qrBorder=4)


def decode_image(image: Image.Image) -> list[str]:
    """The texts of the QR codes found in an image, in reading order, without repeats."""
    import zxingcpp

    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    found = zxingcpp.read_barcodes(image, formats=qr_only)
    if not found and max(image.size) > 3000:  # very large camera photos: try smaller
        small = image.copy()
        small.thumbnail((2000, 2000))
        found = zxingcpp.read_barcodes(small, formats=qr_only)
    return list(dict.fromkeys(r.text.strip() for r in found if r.text.strip()))


def pdf_pages(path: Path, dpi: int = SCAN_DPI) -> Iterator[Image.Image]:
    """Each page of a PDF as an image."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                yield page.render(scale=dpi / 72).to_pil()
            finally:
                page.close()
    finally:
        pdf.close()


def pdf_page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def is_pdf(path: Path) -> bool:
    if path.suffix.lower() in PDF_SUFFIXES:
        return True
    with path.open("rb") as fh:
        return fh.read(5) == b"%PDF-"


def decode_file(path: Path) -> list[list[str]]:
    """The QR texts of each page of a scan (an image is one page)."""
    path = Path(path)
    if is_pdf(path):
        return [decode_image(img) for img in pdf_pages(path)]
    with Image.open(path) as img:
        frames = []
        for i in range(getattr(img, "n_frames", 1)):  # multi-page TIFF
            img.seek(i)
            frames.append(decode_image(img.copy()))
        return frames

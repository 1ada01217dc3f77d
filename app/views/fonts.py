"""Choosing a font that has Chinese glyphs, so no text ever shows as boxes."""

from __future__ import annotations

import logging
import sys

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

WINDOWS_FAMILIES = ("Microsoft YaHei UI", "Microsoft YaHei", "DengXian", "SimHei", "SimSun", "NSimSun")
LINUX_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN", "Noto Serif CJK SC",
)
MAC_FAMILIES = ("PingFang SC", "Hiragino Sans GB", "Heiti SC", "STHeiti")


def preferred_families() -> tuple[str, ...]:
    if sys.platform.startswith("win"):
        return WINDOWS_FAMILIES + LINUX_FAMILIES
    if sys.platform == "darwin":
        return MAC_FAMILIES + LINUX_FAMILIES
    # Kylin and UOS ship their own CJK fonts besides these.
    return (*LINUX_FAMILIES, "UKUI Sans", "Sans UOS", *WINDOWS_FAMILIES)


def choose_family() -> str | None:
    """The first preferred family installed, else any family that writes Simplified Chinese."""
    installed = set(QFontDatabase.families())
    for family in preferred_families():
        if family in installed:
            return family
    chinese = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    return chinese[0] if chinese else None


def apply_font(app: QApplication) -> str | None:
    """Make the chosen CJK family the application font (size unchanged); returns it."""
    family = choose_family()
    if family is None:
        log.warning("no font with Simplified Chinese glyphs found; Chinese may show as boxes")
        return None
    font = QFont(app.font())
    font.setFamilies([family, *font.families()])
    app.setFont(font)
    log.info("UI font: %s", family)
    return family

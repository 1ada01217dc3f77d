"""Remake the bundled PDF fonts (a developer's tool; the program never runs it).

Needs fontTools (``pip install fonttools``) and the two Debian font packages' files:

    apt-get download fonts-wqy-microhei fonts-hanazono
    dpkg-deb -x fonts-wqy-microhei_*.deb x && dpkg-deb -x fonts-hanazono_*.deb x
    python resources/fonts/make_subsets.py x/usr/share/fonts/truetype/wqy/wqy-microhei.ttc \\
        x/usr/share/fonts/truetype/hanazono/HanaMinA.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

HERE = Path(__file__).resolve().parent
# Blocks taken from Hanazono for characters WenQuanYi lacks.
FALLBACK_BLOCKS = ((0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x2E80, 0x2FDF), (0x31C0, 0x31EF))


def options() -> subset.Options:
    opts = subset.Options()
    opts.glyph_names = False
    opts.hinting = False  # print and screen at today's resolutions do not need TrueType hints
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.layout_features = ["*"]
    opts.drop_tables += ["DSIG", "FFTM"]
    return opts


def main(wqy_ttc: str, hanazono_a: str) -> None:
    main_face = TTCollection(wqy_ttc).fonts[0]  # face 0: WenQuanYi Micro Hei (1: the Mono face)
    cmap = main_face.getBestCmap()
    sub = subset.Subsetter(options())
    sub.populate(unicodes=list(cmap))
    sub.subset(main_face)
    main_face.save(HERE / "WenQuanYiMicroHei-subset.ttf")

    fallback = TTFont(hanazono_a)
    wanted = [u for u in fallback.getBestCmap() if u not in cmap
              and any(lo <= u <= hi for lo, hi in FALLBACK_BLOCKS)]
    sub = subset.Subsetter(options())
    sub.populate(unicodes=wanted)
    sub.subset(fallback)
    fallback.save(HERE / "HanaMinA-ExtA-subset.ttf")
    print(f"WenQuanYi: {len(cmap)} characters; Hanazono subset: {len(wanted)} characters")


if __name__ == "__main__":
    main(*sys.argv[1:3])

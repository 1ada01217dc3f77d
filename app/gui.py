"""Entry point of the desktop program."""

from __future__ import annotations

import sys


def run_gui(db_target: str | None) -> int:
    print("桌面程序将在下一版本提供；目前请使用命令行（kuaichu --help）。", file=sys.stderr)
    return 1

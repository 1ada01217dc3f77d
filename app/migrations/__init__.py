"""Alembic migrations; ``include_object`` is shared by env.py and schema checks."""

from __future__ import annotations

from typing import Any

# Tables made by raw SQL in migrations, not by the models: the SQLite full-text index
# (0002) and FTS5's shadow tables (demand_fts_data, demand_fts_idx, ...).
UNMODELLED_PREFIXES = ("demand_fts",)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave the unmodelled tables out of the models-vs-database comparison."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not str(table or "").startswith(UNMODELLED_PREFIXES)

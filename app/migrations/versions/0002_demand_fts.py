"""full-text index of demands (SQLite FTS5, trigram)

The ledger's text box searches a demand's content and case number and its petitioner's
name, phone and address. On SQLite an FTS5 table with the trigram tokenizer indexes
exactly those columns (one row per demand, rowid = demand.id), kept in step by triggers
on ``demand`` and ``petitioner``, so every writer (the services, the demo generator, an
importer, a raw SQL fix) keeps it right. On other databases nothing is created and the
search falls back to LIKE.

A later migration that rebuilds ``demand`` or ``petitioner`` in batch mode drops their
triggers with the old table: call ``create_triggers()`` from this module again afterwards.
``INSERT INTO demand_fts(demand_fts) VALUES('rebuild')`` does not apply (the table keeps
its own copy of the text); to refill it, run ``refill()``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "demand_fts"

# The text of one demand as indexed; ``{where}`` selects the demands to (re)index.
_SELECT = (
    "SELECT d.id, d.code, d.content, coalesce(p.name, ''), coalesce(p.phone, ''), "
    "coalesce(p.address, '') FROM demand AS d LEFT JOIN petitioner AS p ON p.id = d.petitioner_id "
    "WHERE {where}"
)
_INSERT = f"INSERT INTO {TABLE}(rowid, code, content, name, phone, address) " + _SELECT

TRIGGERS = {
    "demand_fts_ai": f"""
        CREATE TRIGGER demand_fts_ai AFTER INSERT ON demand BEGIN
            {_INSERT.format(where="d.id = new.id")};
        END""",
    "demand_fts_au": f"""
        CREATE TRIGGER demand_fts_au AFTER UPDATE OF code, content, petitioner_id ON demand BEGIN
            DELETE FROM {TABLE} WHERE rowid = old.id;
            {_INSERT.format(where="d.id = new.id")};
        END""",
    "demand_fts_ad": f"""
        CREATE TRIGGER demand_fts_ad AFTER DELETE ON demand BEGIN
            DELETE FROM {TABLE} WHERE rowid = old.id;
        END""",
    "demand_fts_pi": f"""
        CREATE TRIGGER demand_fts_pi AFTER INSERT ON petitioner BEGIN
            DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM demand WHERE petitioner_id = new.id);
            {_INSERT.format(where="d.petitioner_id = new.id")};
        END""",
    "demand_fts_pu": f"""
        CREATE TRIGGER demand_fts_pu AFTER UPDATE OF id, name, phone, address ON petitioner BEGIN
            DELETE FROM {TABLE} WHERE rowid IN
                (SELECT id FROM demand WHERE petitioner_id IN (old.id, new.id));
            {_INSERT.format(where="d.petitioner_id IN (old.id, new.id)")};
        END""",
    "demand_fts_pd": f"""
        CREATE TRIGGER demand_fts_pd AFTER DELETE ON petitioner BEGIN
            DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM demand WHERE petitioner_id = old.id);
            {_INSERT.format(where="d.petitioner_id = old.id")};
        END""",
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def create_triggers() -> None:
    for name, sql in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(sql)


def refill() -> None:
    op.execute(f"DELETE FROM {TABLE}")
    op.execute(_INSERT.format(where="1"))


def upgrade() -> None:
    if not _sqlite():
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
        "code, content, name, phone, address, tokenize = 'trigram')"
    )
    create_triggers()
    refill()


def downgrade() -> None:
    if not _sqlite():
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")

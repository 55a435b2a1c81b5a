"""On SQLite, keep the counter tables clustered by their primary keys (WITHOUT ROWID).

A rowid table with a text primary key is two B-trees, the rows and the key's index, so every
upsert of a counter row wrote both. Clustered by the key, it writes one, and a batch's commit
has fewer pages to write. PostgreSQL is left as it is.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"

CLUSTERED = ("submissions", "tallies", "daily", "author_tallies", "dirty")


def upgrade() -> None:
    """Rebuild each counter table WITHOUT ROWID, rows and all (SQLite only)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in CLUSTERED:
        create = (
            op.get_bind()
            .exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            )
            .scalar_one()
        )
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_with_rowid")
        op.execute(f"{create} WITHOUT ROWID")
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}_with_rowid")
        op.execute(f"DROP TABLE {table}_with_rowid")

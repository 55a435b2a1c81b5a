"""Record which version of the matching key each document's stored key was made by, so that a
change of the key derives the stored ones again at the next rebuild.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Add documents.key_version (1 for every document stored before)."""
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("key_version", sa.Integer, nullable=False, server_default=sa.text("1"))
        )

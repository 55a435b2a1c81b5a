"""Reference data changed through the admin API: its change log, and the keys that may change it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from shared.reference.live import create_reference_changes_table

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    """Create ``reference_changes``; add ``api_clients.can_manage_reference``."""
    create_reference_changes_table(op)
    with op.batch_alter_table("api_clients") as table:
        table.add_column(
            sa.Column("can_manage_reference", sa.Boolean, nullable=False, server_default=sa.false())
        )

"""API keys may expire.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Add the expiry of API keys (none: the key never expires)."""
    with op.batch_alter_table("api_clients") as table:
        table.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))

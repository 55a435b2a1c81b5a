"""API keys may expire.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Add the expiry of API keys (none: the key never expires)."""
    with op.batch_alter_table("api_clients") as table:
        table.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))

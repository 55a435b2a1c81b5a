"""The lease that makes one replica the screener, the others standbys.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.lease import create_lease_table

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Create ``leases``."""
    create_lease_table(op)

"""The lease that makes one replica record milestones and send notices, the others standbys.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.lease import create_lease_table

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    """Create ``leases``."""
    create_lease_table(op)

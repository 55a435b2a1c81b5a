"""The reference changes this service has consumed, kept once each (``shared.reference.live``).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shared.reference.live import create_reference_changes_table

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    """Create ``reference_changes``."""
    create_reference_changes_table(op)

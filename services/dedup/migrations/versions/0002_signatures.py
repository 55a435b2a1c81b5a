"""Store each document's MinHash state, so that a rebuild need not recompute shingles.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Add documents.signature (null for documents screened before)."""
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("signature", sa.LargeBinary, nullable=True))

"""A copy of the union tree's levels, clusters and parents and of the targets, so that the
database ranks and pages leaderboards.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    """Create ``ranked_unions``, ``union_targets`` and ``reference_fingerprint``."""
    op.create_table(
        "ranked_unions",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("level", sa.String(30), nullable=False, index=True),
        sa.Column("cluster", sa.String(100), index=True),
        sa.Column("parent_code", sa.String(100), index=True),
    )
    op.create_table(
        "union_targets",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("effective", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reference_fingerprint",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )

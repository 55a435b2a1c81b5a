"""Counting as filed beside counting as of now, once unions move and merge.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    """Create ``filed_offsets`` and ``placed_version``."""
    op.create_table(
        "filed_offsets",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("reach", sa.String(10), primary_key=True),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("counted", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.Column("excluded", sa.Integer, nullable=False),
        sa.Column("benefit_vnd", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "placed_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )

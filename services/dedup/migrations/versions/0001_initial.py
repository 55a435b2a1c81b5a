"""Documents, dismissed pairs, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.messaging.tables import create_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the first schema."""
    op.create_table(
        "documents",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.String(36), nullable=False, unique=True),
        sa.Column("program", sa.String(50), nullable=False),
        sa.Column("union_code", sa.String(100), nullable=False),
        sa.Column("author_key", sa.String(64), nullable=False),
        sa.Column("matching_key", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(30), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("best_match_id", sa.String(36)),
        sa.Column("method_version", sa.String(200), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dismissed_pairs",
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("other_id", sa.String(36), primary_key=True),
        sa.Column("review_id", sa.String(100), nullable=False),
    )
    create_messaging_tables(op)

"""Submissions, tallies, daily buckets, author tallies, dirty marks, outbox and inbox.

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
        "submissions",
        sa.Column("submission_id", sa.String(36), primary_key=True),
        sa.Column("union_code", sa.String(100), nullable=False),
        sa.Column("phase", sa.String(50), nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("benefit_vnd", sa.BigInteger, nullable=False),
        sa.Column("author_key", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(30)),
        sa.Column("decision", sa.String(30)),
        sa.Column("review_sequence", sa.Integer, nullable=False),
    )
    op.create_table(
        "tallies",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("reach", sa.String(10), primary_key=True),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("counted", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.Column("excluded", sa.Integer, nullable=False),
        sa.Column("benefit_vnd", sa.BigInteger, nullable=False),
        sa.Column("distinct_authors", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("latest_on", sa.Date, nullable=False),
    )
    op.create_table(
        "daily",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("counted", sa.Integer, nullable=False),
    )
    op.create_table(
        "author_tallies",
        sa.Column("author_key", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("counted", sa.Integer, nullable=False),
    )
    op.create_table(
        "dirty",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("marks", sa.Integer, nullable=False),
    )
    create_messaging_tables(op)

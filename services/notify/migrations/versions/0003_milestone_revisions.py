"""Milestones are revised when late data or reviews change them: withdrawn flag, revision count,
and the log of revisions.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Add the milestones' revision state and the revisions table."""
    with op.batch_alter_table("milestones") as table:
        table.add_column(
            sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("revisions", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "milestone_revisions",
        sa.Column("revision_id", sa.String(36), primary_key=True),
        sa.Column("milestone_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("previous_reached_on", sa.Date),
        sa.Column("previous_days_ahead", sa.Integer),
        sa.Column("reached_on", sa.Date),
        sa.Column("days_ahead", sa.Integer),
        sa.Column("counted", sa.BigInteger, nullable=False),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("milestone_id", "number", name="milestone_revision_number"),
    )

"""Review trail, review state columns, union paths for subtree queries, reviewer keys.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

UNION_PATH = sa.String(1000).with_variant(sa.String(1000, collation="C"), "postgresql")


def upgrade() -> None:
    """Add the review trail; paths of earlier submissions are filled in at start-up."""
    with op.batch_alter_table("submissions") as table:
        table.add_column(
            sa.Column("review_sequence", sa.Integer, nullable=False, server_default="0")
        )
        table.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("union_path", UNION_PATH))
    op.create_index("ix_submissions_union_path", "submissions", ["union_path", "created_at"])
    with op.batch_alter_table("api_clients") as table:
        table.add_column(
            sa.Column("can_review", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "reviews",
        sa.Column("review_id", sa.String(36), primary_key=True),
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(30), nullable=False),
        sa.Column("previous_state", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("duplicate_of", sa.String(36)),
        sa.Column("reviewer_union", sa.String(100), nullable=False),
        sa.Column("reviewer_name", sa.String(200)),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("submission_id", "sequence", name="uq_reviews_sequence"),
    )

"""Milestones, snapshots seen, API clients, subscriptions, notices and attempts, outbox, inbox.

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
        "milestones",
        sa.Column("milestone_id", sa.String(36), primary_key=True),
        sa.Column("program", sa.String(50), nullable=False),
        sa.Column("scope", sa.String(50), nullable=False),
        sa.Column("union_code", sa.String(100), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("threshold", sa.BigInteger, nullable=False),
        sa.Column("counted", sa.BigInteger, nullable=False),
        sa.Column("target", sa.BigInteger),
        sa.Column("reached_on", sa.Date, nullable=False),
        sa.Column("days_ahead", sa.Integer),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "snapshots_seen",
        sa.Column("union_code", sa.String(100), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_clients",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(36), primary_key=True),
        sa.Column("union_code", sa.String(100), nullable=False, index=True),
        sa.Column("reach", sa.String(10), nullable=False),
        sa.Column("webhook_url", sa.String(2000)),
        sa.Column("webhook_secret", sa.String(200)),
        sa.Column("emails", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "pending",
        sa.Column("subscription_id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(10), primary_key=True),
        sa.Column("milestone_id", sa.String(36), primary_key=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.String(36), primary_key=True),
        sa.Column("subscription_id", sa.String(36), nullable=False, index=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("milestone_ids", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_table(
        "attempts",
        sa.Column("notification_id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
    )
    create_messaging_tables(op)

"""Tables of the notify service: milestones fired, and the newest snapshot seen per union."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import UtcDateTime

metadata = sa.MetaData()

# One row per milestone ever reached: the primary key is what makes it fire exactly once.
milestones = sa.Table(
    "milestones",
    metadata,
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
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    # Fell back below the threshold after it fired (``reached_on``: the day last told).
    sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("revisions", sa.Integer, nullable=False, server_default="0"),
)

# Each change to a milestone after it fired, with what was told before; a correction notice
# names a revision by its id, as a first notice names a milestone.
milestone_revisions = sa.Table(
    "milestone_revisions",
    metadata,
    sa.Column("revision_id", sa.String(36), primary_key=True),
    sa.Column("milestone_id", sa.String(36), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("previous_reached_on", sa.Date),
    sa.Column("previous_days_ahead", sa.Integer),
    sa.Column("reached_on", sa.Date),
    sa.Column("days_ahead", sa.Integer),
    sa.Column("counted", sa.BigInteger, nullable=False),
    sa.Column("revised_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("milestone_id", "number", name="milestone_revision_number"),
)

# The highest snapshot revision applied per (union, scope): an older one arriving late is stale.
snapshots_seen = sa.Table(
    "snapshots_seen",
    metadata,
    sa.Column("union_code", sa.String(100), primary_key=True),
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
)

# Clients of the subscriptions API (a federation's staff), scoped to union subtrees.
api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
)

# Who is told about which union's milestones, and how.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(36), primary_key=True),
    sa.Column("union_code", sa.String(100), nullable=False, index=True),
    sa.Column("reach", sa.String(10), nullable=False),  # own | subtree
    sa.Column("webhook_url", sa.String(2000)),
    sa.Column("webhook_secret", sa.String(200)),
    sa.Column("emails", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(32), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("deleted_at", UtcDateTime),
)

# Milestones waiting to be grouped into a notice for a subscriber (one row per channel).
pending = sa.Table(
    "pending",
    metadata,
    sa.Column("subscription_id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(10), primary_key=True),
    sa.Column("milestone_id", sa.String(36), primary_key=True),
    sa.Column("queued_at", UtcDateTime, nullable=False),
)

# A notice to one subscriber over one channel: one milestone, or a digest of several. Its id is
# the idempotency key the receiver sees on every attempt.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("notification_id", sa.String(36), primary_key=True),
    sa.Column("subscription_id", sa.String(36), nullable=False, index=True),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("milestone_ids", sa.JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending|delivered|failed|cancelled
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("last_error", sa.String(1000)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Index("notifications_due", "status", "next_attempt_at"),
)

# Every attempt to deliver a notice: the delivery log subscribers read.
attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("notification_id", sa.String(36), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("detail", sa.String(1000), nullable=False),
)

"""Outbox and inbox tables, added to each service's own metadata and first migration."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def outbox_columns() -> list[sa.Column[Any]]:
    """Columns of ``outbox``: one row per event waiting to be published."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(100), nullable=False, unique=True),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]


def inbox_columns() -> list[sa.Column[Any]]:
    """Columns of ``inbox``: one row per message a consumer has applied."""
    return [
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    ]


def create_messaging_tables(op: Any) -> None:
    """Alembic step that creates the outbox and inbox (used by every service's first migration)."""
    op.create_table("outbox", *outbox_columns())
    op.create_table("inbox", *inbox_columns())


_METADATA = sa.MetaData()
OUTBOX = sa.Table("outbox", _METADATA, *outbox_columns())
INBOX = sa.Table("inbox", _METADATA, *inbox_columns())

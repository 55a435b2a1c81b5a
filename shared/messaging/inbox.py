"""Inbox: the ids of messages a consumer has applied, written in the same transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import utc_now
from shared.messaging.tables import INBOX


async def already_processed(session: AsyncSession, consumer: str, message_id: str) -> bool:
    """Whether ``consumer`` has already applied ``message_id``."""
    found = await session.scalar(
        sa.select(INBOX.c.message_id).where(
            INBOX.c.consumer == consumer, INBOX.c.message_id == message_id
        )
    )
    return found is not None


async def record_processed(session: AsyncSession, consumer: str, message_id: str) -> None:
    """Remember that ``consumer`` applied ``message_id`` (in the caller's transaction)."""
    await session.execute(
        INBOX.insert().values(consumer=consumer, message_id=message_id, processed_at=utc_now())
    )

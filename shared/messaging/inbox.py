"""Inbox: the ids of the messages a consumer has applied, written in the same transaction as
what applying them changed, so that a redelivered message changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.envelope import utc_now
from shared.messaging.tables import INBOX


class Identified(Protocol):
    """Anything that carries a message id: an event, or a refused command."""

    @property
    def message_id(self) -> str: ...


T = TypeVar("T", bound=Identified)
# Applies messages (none applied before) in the caller's transaction.
Apply = Callable[[AsyncSession, Sequence[T]], Awaitable[object]]
# First statement of a transaction that only the lease holder may commit (``shared.lease``).
Fence = Callable[[AsyncSession], Awaitable[None]]
# What the inbox records of a message: its id, unless the consumer says otherwise.
InboxKey = Callable[[Any], str]


def message_id_of(message: Identified) -> str:
    """The inbox key of an event: its message id (one publisher owns each event)."""
    return message.message_id


async def apply_new(
    sessions: async_sessionmaker[AsyncSession],
    consumer: str,
    messages: Sequence[T],
    apply: Apply[T],
    fence: Fence | None = None,
    key: InboxKey = message_id_of,
) -> int:
    """Apply the messages ``consumer`` has not applied before, once each (the first of a repeated
    ``key``), and record them in the inbox, all in one transaction (opened by ``fence`` when
    given, before the inbox is read); returns how many were new."""
    async with sessions() as session, session.begin():
        if fence is not None:
            await fence(session)
        fresh = await _unapplied(session, consumer, messages, key)
        if fresh:
            await apply(session, fresh)
            now = utc_now()
            await session.execute(
                INBOX.insert(),
                [{"consumer": consumer, "message_id": key(m), "processed_at": now} for m in fresh],
            )
    return len(fresh)


async def _unapplied(
    session: AsyncSession, consumer: str, messages: Sequence[T], key: InboxKey
) -> list[T]:
    """The messages whose keys the inbox has not seen, each key once (first occurrence)."""
    keys = list(dict.fromkeys(key(m) for m in messages))
    seen = set(
        (
            await session.scalars(
                sa.select(INBOX.c.message_id).where(
                    INBOX.c.consumer == consumer, INBOX.c.message_id.in_(keys)
                )
            )
        ).all()
    )
    fresh: list[T] = []
    for message in messages:
        if key(message) not in seen:
            seen.add(key(message))
            fresh.append(message)
    return fresh

"""Transactional outbox: events are written in the same transaction as the state they describe,
and a relay publishes them afterwards with publisher confirms and ``mandatory``.

If the process dies after the commit and before the publish, the rows are still there and the
relay publishes them when it comes back. If it dies after the publish and before deleting the rows,
they are published again with the same ``message_id``; consumers' inboxes make that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC

import sqlalchemy as sa
from faststream.rabbit import RabbitBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.background import Loop
from shared.contracts.envelope import Message, utc_now
from shared.messaging.consumer import claimed_schema
from shared.messaging.tables import OUTBOX
from shared.messaging.topology import EVENTS_EXCHANGE
from shared.observability import OUTBOX_FAILURES, OUTBOX_LAG, OUTBOX_PUBLISHED
from shared.retrying import retrying


async def add_to_outbox(session: AsyncSession, *events: Message) -> None:
    """Queue ``events`` for publication in the caller's transaction (one statement for all).

    Message ids derive from their cause and the inbox applies each cause once, so a repeated id
    is a bug: the unique constraint makes it fail loudly instead of being published twice.
    """
    if not events:
        return
    now = utc_now()
    await session.execute(
        OUTBOX.insert(),
        [
            {
                "message_id": event.message_id,
                "routing_key": event.address(),
                "correlation_id": event.correlation_id,
                "headers": event.schema_header(),
                "body": event.model_dump_json(),
                "created_at": now,
            }
            for event in events
        ],
    )


class OutboxRelay:
    """Publishes a service's outbox: woken after each commit, and polling as a safety net."""

    def __init__(
        self,
        broker: RabbitBroker,
        sessions: async_sessionmaker[AsyncSession],
        *,
        batch: int = 500,
        idle_seconds: float = 0.5,
        lock_rows: bool = True,
        user_id: str,
    ) -> None:
        self._broker = broker
        self._user_id = user_id  # the connection's own user: proves who published
        self._sessions = sessions
        self._batch = batch
        self._idle = idle_seconds
        self._lock_rows = lock_rows
        self._wake = asyncio.Event()
        self._loop = Loop("outbox-relay", self._run)

    def wake(self) -> None:
        """Tell the relay that new rows were committed."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay in the background."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop after the current round."""
        await self._loop.stop()

    async def _run(self) -> None:
        while True:
            # Unroutable (mandatory returned), broker or database away: the rows stay and the
            # round is tried again with backoff.
            async for attempt in retrying(
                "outbox_publish_failed",
                on=Exception,
                first=self._idle,
                escalate_after=0.0,
                on_retry=lambda error: OUTBOX_FAILURES.labels(reason=type(error).__name__).inc(),
            ):
                with attempt:
                    published = await self.publish_pending()
            if published < self._batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle)

    async def publish_pending(self) -> int:
        """Publish one batch of outbox rows in id order; returns how many were published."""
        async with self._sessions() as session:
            if not self._lock_rows:
                # SQLite has one writer: holding a transaction across the broker round trip would
                # stall every request, so read, publish and delete in separate short steps. Only
                # one relay runs per SQLite file (it is the embedded, single-process setup).
                rows = await self._batch_of_rows(session, lock=False)
                await session.commit()
                await self._publish_all(rows)
                await self._delete(session, rows)
                await session.commit()
            else:
                # Replicas on PostgreSQL share the outbox: SKIP LOCKED hands each a disjoint batch.
                async with session.begin():
                    rows = await self._batch_of_rows(session, lock=True)
                    await self._publish_all(rows)
                    await self._delete(session, rows)
        return len(rows)

    async def _batch_of_rows(self, session: AsyncSession, *, lock: bool) -> list[sa.Row]:
        query = sa.select(OUTBOX).order_by(OUTBOX.c.id).limit(self._batch)
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list((await session.execute(query)).all())

    async def _publish_all(self, rows: list[sa.Row]) -> None:
        # Publishing the window concurrently lets the broker confirm it as a whole:
        # awaiting each confirm alone caps a relay near 500 messages per second.
        await asyncio.gather(*(self._publish(row) for row in rows))

    async def _delete(self, session: AsyncSession, rows: list[sa.Row]) -> None:
        if not rows:
            OUTBOX_LAG.set(0)
            return
        await session.execute(OUTBOX.delete().where(OUTBOX.c.id.in_([r.id for r in rows])))
        oldest = rows[0].created_at
        if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
            oldest = oldest.replace(tzinfo=UTC)
        OUTBOX_LAG.set((utc_now() - oldest).total_seconds())

    async def _publish(self, row: sa.Row) -> None:
        headers = row.headers if isinstance(row.headers, dict) else json.loads(row.headers)
        await self._broker.publish(
            row.body.encode(),
            exchange=EVENTS_EXCHANGE,
            routing_key=row.routing_key,
            mandatory=True,
            persist=True,
            message_id=row.message_id,
            correlation_id=row.correlation_id,
            user_id=self._user_id,
            headers=headers,
            content_type="application/json",
        )
        # By event, not routing key: an outcome's key also names its portal.
        OUTBOX_PUBLISHED.labels(event=claimed_schema(headers, row.routing_key)).inc()

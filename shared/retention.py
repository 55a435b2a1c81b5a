"""Bounded storage: rows deleted once they can no longer matter (docs/operations.md, retention).

- **Inbox** rows exist so that a redelivered message changes nothing. Redeliveries come within
  minutes (a crash between commit and ack, a re-published outbox row), and a message replayed
  from a dead-letter queue was never applied, so its id is not in the inbox anyway: after
  ``SANGKIEN_INBOX_RETENTION_DAYS`` a row protects against nothing and is deleted.
- Services add their own purges (notify: the delivery log of notices finished long ago).

Every replica runs the purges once an hour, in batches, each in its own short transaction;
deleting what another replica deleted already is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.background import Loop
from shared.contracts.envelope import utc_now
from shared.messaging.tables import INBOX

log = structlog.get_logger(__name__)
PURGED = Counter("sangkien_rows_purged_total", "Rows deleted by retention, by table.", ["table"])
BATCH = 5000

# Deletes at most ``limit`` rows older than the cutoff in the caller's transaction; how many.
Purge = Callable[[AsyncSession, datetime, int], Awaitable[int]]


async def purge_inbox(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` inbox rows processed before ``before``."""
    oldest = (
        sa.select(INBOX.c.consumer, INBOX.c.message_id)
        .where(INBOX.c.processed_at < before)
        .limit(limit)
    )
    result = await session.execute(
        INBOX.delete().where(sa.tuple_(INBOX.c.consumer, INBOX.c.message_id).in_(oldest))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class Retention:
    """Runs each table's purge with its own retention, every ``interval`` seconds."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], interval: float = 3600.0
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._purges: list[tuple[str, timedelta, Purge]] = []
        self._loop = Loop("retention", self._run)

    def add(self, table: str, keep: timedelta, purge: Purge) -> None:
        """Delete ``table``'s rows older than ``keep`` with ``purge``."""
        self._purges.append((table, keep, purge))

    def start(self) -> None:
        """Purge now and then every interval, in the background."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop purging (a batch in progress is rolled back)."""
        await self._loop.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self.purge_all()
            except Exception:
                log.exception("retention_failed_will_retry")
            await asyncio.sleep(self._interval)

    async def purge_all(self) -> dict[str, int]:
        """Delete everything past its retention, batch by batch; rows deleted per table."""
        deleted: dict[str, int] = {}
        for table, keep, purge in self._purges:
            before = utc_now() - keep
            deleted[table] = 0
            while True:
                async with self._sessions() as session, session.begin():
                    count = await purge(session, before, BATCH)
                deleted[table] += count
                PURGED.labels(table=table).inc(count)
                if count < BATCH:
                    break
        if any(deleted.values()):
            log.info("retention_purged", **deleted)
        return deleted

"""Coalesced ``progress.updated.v1`` snapshots.

Coalescing rule: a batch that changes a tracked union's figures for a scope marks that
(union, scope) due; every ``interval`` seconds the publisher writes one snapshot per due
(union, scope) with its figures at that moment, and clears the mark unless it was marked again
meanwhile. However many submissions touched the national node in that interval, it gets one
snapshot.

Why a consumer that compares snapshots never misses a threshold crossing: a snapshot is not a
delta but the whole cumulative state (counted, target, ``reached_on`` from the daily buckets),
stamped with a ``revision`` that only grows. Every change leaves a mark that is only cleared by a
snapshot taken after it, so the last snapshot of a (union, scope) always shows its latest
figures; a consumer keeps the highest revision it has seen, ignores older ones arriving late, and
checks "counted ≥ threshold" on the newest. A threshold passed between two snapshots is seen in
the second. Only a crossing undone within one interval (a review taking a submission back out) is
never shown, and then no milestone was really reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.aggregation.reading import Progress, period_of, progress_of, published
from services.aggregation.store import dirty
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.progress import ProgressUpdatedV1
from shared.messaging.outbox import add_to_outbox
from shared.reference.catalog import ReferenceData

log = structlog.get_logger(__name__)


def snapshot(progress: Progress, *, level: str, program: str) -> ProgressUpdatedV1:
    """The ``progress.updated.v1`` event of a union's progress; its id names the revision."""
    return ProgressUpdatedV1(
        message_id=derived_message_id(
            progress.union_code, progress.scope, str(progress.revision), "progress.updated.v1"
        ),
        correlation_id=f"progress:{progress.union_code}:{progress.scope}"[:100],
        occurred_at=utc_now(),
        union_code=progress.union_code,
        level=level,
        program=program,
        scope=progress.scope,
        revision=progress.revision,
        as_of=progress.latest_on or progress.period.starts_on,
        subtree=published(progress.subtree),
        own=published(progress.own),
        target=progress.target.effective if progress.target else None,
        percent=progress.percent,
        reached_on=progress.reached_on,
        days_ahead=progress.days_ahead,
    )


class SnapshotPublisher:
    """Writes the due snapshots to the outbox every ``interval`` seconds."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        reference: ReferenceData,
        lock: asyncio.Lock,
        interval: float,
        limit: int,
        wake_relay: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._reference = reference
        self._lock = lock
        self._interval = interval
        self._limit = limit
        self._wake_relay = wake_relay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Publish in the background."""
        self._task = asyncio.create_task(self._run(), name="progress-snapshots")

    async def stop(self) -> None:
        """Stop publishing (what is due stays marked for the next start)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                published = await self.publish_due()
            except Exception:
                log.exception("snapshots_failed_will_retry")
                published = 0
            if published < self._limit:
                await asyncio.sleep(self._interval)

    async def publish_due(self) -> int:
        """Write one snapshot per due (union, scope), up to ``limit``; returns how many."""
        program = self._reference.program
        async with self._lock, self._sessions() as session, session.begin():
            query = sa.select(dirty.c.union_code, dirty.c.scope, dirty.c.marks).limit(self._limit)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = (await session.execute(query)).all()
            for union_code, scope, _ in due:
                period = period_of(program, scope)
                union = self._reference.tree.get(union_code)
                if period is None or union is None:
                    continue
                progress = await progress_of(session, self._reference, union_code, scope, period)
                if progress.revision:
                    event = snapshot(progress, level=union.level, program=program.code)
                    await add_to_outbox(session, event)
            if due:
                await session.execute(
                    dirty.delete().where(
                        dirty.c.union_code == sa.bindparam("u"),
                        dirty.c.scope == sa.bindparam("s"),
                        dirty.c.marks == sa.bindparam("m"),
                    ),
                    [{"u": u, "s": s, "m": m} for u, s, m in due],
                )
        if due:
            self._wake_relay()
        return len(due)

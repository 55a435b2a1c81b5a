"""A service's current reference data: the files' data with the changes its database holds.

Each service that depends on reference data keeps the changes it has seen in its own table
``reference_changes`` (the owner writes the ones it accepts; the others store each
``reference.changed.v1`` they consume, once, in the transaction that acks it). Every replica
then follows that table: it replays the stored versions after its own (``changes.replay``)
after each change it stores itself, and on a short timer for those another replica stored. A
replica starting cold does the same from version 0: no restart, and no call to another service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.background import Loop
from shared.contracts.envelope import utc_now
from shared.contracts.reference import ReferenceChangedV1
from shared.db import UtcDateTime
from shared.observability import REFERENCE_VERSION
from shared.reference.catalog import ReferenceData, load_reference
from shared.reference.changes import replay
from shared.runtime import Runtime
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)


def reference_change_columns() -> list[sa.Column[Any]]:
    """Columns of ``reference_changes``: one row per version, the event as published."""
    return [
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    ]


def create_reference_changes_table(op: Any) -> None:
    """Alembic step that creates ``reference_changes``."""
    op.create_table("reference_changes", *reference_change_columns())


REFERENCE_CHANGES = sa.Table("reference_changes", sa.MetaData(), *reference_change_columns())


async def record_change(session: AsyncSession, event: ReferenceChangedV1) -> bool:
    """Keep ``event`` in the caller's transaction; False if its version was kept already."""
    held = await session.scalar(
        sa.select(REFERENCE_CHANGES.c.version).where(REFERENCE_CHANGES.c.version == event.version)
    )
    if held is not None:
        return False
    await session.execute(
        REFERENCE_CHANGES.insert().values(
            version=event.version, event=event.model_dump_json(), recorded_at=utc_now()
        )
    )
    return True


async def stored_changes(
    session: AsyncSession, after: int, limit: int | None = None
) -> list[ReferenceChangedV1]:
    """The kept changes above version ``after``, in version order (the first ``limit``)."""
    rows = await session.scalars(
        sa.select(REFERENCE_CHANGES.c.event)
        .where(REFERENCE_CHANGES.c.version > after)
        .order_by(REFERENCE_CHANGES.c.version)
        .limit(limit)
    )
    return [ReferenceChangedV1.model_validate_json(row) for row in rows]


async def current_reference(base: ReferenceData, session: AsyncSession) -> ReferenceData:
    """``base`` (the files' data) with the changes the database holds applied."""
    return replay(base, await stored_changes(session, base.version))


Listener = Callable[[ReferenceData], Awaitable[None]]


class LiveReference:
    """The current reference data of one service process, following its database."""

    def __init__(
        self,
        base: ReferenceData,
        sessions: async_sessionmaker[AsyncSession],
        interval: float,
    ) -> None:
        self._current = base
        self._sessions = sessions
        self._interval = interval
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self._loop = Loop("reference-follow", self._follow)
        REFERENCE_VERSION.set(base.version)

    @classmethod
    def of(cls, runtime: Runtime, settings: CommonSettings) -> LiveReference:
        """The reference data of a service process: the files of ``reference_dir``, following
        the runtime's database, its version shown on ``/ready``."""
        live = cls(
            load_reference(settings.reference_dir),
            runtime.sessions,
            settings.reference_follow_seconds,
        )
        runtime.details["reference_version"] = lambda: live.current.version
        return live

    @property
    def current(self) -> ReferenceData:
        """The reference data at the highest version this process has applied."""
        return self._current

    def when_changed(self, listener: Listener) -> None:
        """Await ``listener`` with the new reference data after each refresh that changed it."""
        self._listeners.append(listener)

    async def refresh(self) -> bool:
        """Apply the stored changes above the current version; whether any applied."""
        async with self._lock:
            async with self._sessions() as session:
                updated = await current_reference(self._current, session)
            if updated.version == self._current.version:
                return False
            self._current = updated
        REFERENCE_VERSION.set(updated.version)
        log.info("reference_updated", version=updated.version)
        for listener in self._listeners:
            await listener(updated)
        return True

    def start(self) -> None:
        """Follow the table in the background."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop following."""
        await self._loop.stop()

    async def _follow(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # the database away: readiness says so, try again
                log.warning("reference_refresh_failed", error=repr(error)[:300])
            await asyncio.sleep(self._interval)

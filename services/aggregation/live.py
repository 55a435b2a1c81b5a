"""Live figures for the progress board: which followed unions' counters changed, pushed as
server-sent events.

Every replica (the standby too) serves the board, so the changes are read from the counters the
active replica writes, not from the broker: once a tick, one query for every union that some page
follows, however many pages follow it. A union's version is the sum of its subtree revisions over
all scopes; revisions only grow, so a changed sum means changed figures (the same figures that
``progress.updated.v1`` carries, for tracked unions and every other).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.aggregation.counting import Reach
from services.aggregation.store import tallies
from shared.background import Loop
from shared.db import database_away

log = structlog.get_logger(__name__)


class RevisionWatch:
    """Reads the versions of the followed unions every ``interval`` seconds and wakes their
    followers."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval: float) -> None:
        self._sessions = sessions
        self._interval = interval
        self._followers: Counter[str] = Counter()
        self._versions: dict[str, int] = {}
        self._ticked = asyncio.Condition()
        self._loop = Loop("board-revisions", self._run)

    def start(self) -> None:
        """Start reading."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop reading."""
        await self._loop.stop()

    async def follow(self, union_code: str, stopping: Callable[[], bool]) -> AsyncIterator[int]:
        """The union's version once read, then each new one, until ``stopping()``."""
        self._followers[union_code] += 1
        try:
            shown: int | None = None
            while not stopping():
                version = self._versions.get(union_code)
                if version is not None and version != shown:
                    shown = version
                    yield version
                async with self._ticked:
                    # A tick that never comes (the database away) still lets ``stopping`` be
                    # checked.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._ticked.wait(), 2 * self._interval)
        finally:
            self._followers[union_code] -= 1
            if self._followers[union_code] <= 0:
                del self._followers[union_code]
                self._versions.pop(union_code, None)

    async def read(self) -> None:
        """Read the followed unions' versions once and wake their followers."""
        codes = sorted(self._followers)
        if not codes:
            return
        async with self._sessions() as session:
            rows = await session.execute(
                sa.select(tallies.c.union_code, sa.func.sum(tallies.c.revision))
                .where(tallies.c.reach == Reach.SUBTREE.value, tallies.c.union_code.in_(codes))
                .group_by(tallies.c.union_code)
            )
            found = {code: int(version) for code, version in rows}
        self._versions.update(
            {code: found.get(code, 0) for code in codes if code in self._followers}
        )
        async with self._ticked:
            self._ticked.notify_all()

    async def _run(self) -> None:
        while True:
            try:
                await self.read()
            except Exception as error:
                if not database_away(error):
                    raise
                log.warning("board_revisions_unread", error=str(error))
            await asyncio.sleep(self._interval)

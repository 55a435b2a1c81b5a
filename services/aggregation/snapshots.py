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

from services.aggregation.counting import Reach
from services.aggregation.progress import (
    Period,
    crossings,
    days_ahead,
    percent,
    thresholds_passed,
)
from services.aggregation.reading import (
    daily_series,
    figures_of,
    period_of,
    published,
    tally_rows_of,
)
from services.aggregation.store import dirty
from shared.background import Loop
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.progress import Crossing, ProgressUpdatedV1
from shared.messaging.inbox import Fence
from shared.messaging.outbox import add_to_outbox
from shared.reference.catalog import ReferenceData
from shared.reference.live import LiveReference
from shared.reference.unions import Union

log = structlog.get_logger(__name__)


def tracking(reference: ReferenceData, every_union: bool) -> Callable[[str, str], bool]:
    """Whether snapshots are published for a union and scope: for every union when asked, else
    for the (union, scope) pairs with a target and for the national node."""

    def tracked(union_code: str, scope: str) -> bool:
        return (
            every_union
            or (union_code, scope) in reference.targets
            or reference.tree.path(union_code)[0] == union_code
        )

    return tracked


def snapshot(
    union: Union,
    scope: str,
    rows: dict[Reach, sa.Row],
    target: int | None,
    crossed: list[Crossing],
    *,
    period: Period,
    program: str,
) -> ProgressUpdatedV1:
    """The ``progress.updated.v1`` event of a union's figures; its id names the revision."""
    reached = next((c.reached_on for c in crossed if c.counted == target), None)
    subtree_row = rows[Reach.SUBTREE]
    subtree = figures_of(subtree_row)
    revision = subtree_row.revision
    return ProgressUpdatedV1(
        message_id=derived_message_id(union.code, scope, str(revision), "progress.updated.v1"),
        correlation_id=f"progress:{union.code}:{scope}"[:100],
        occurred_at=utc_now(),
        union_code=union.code,
        level=union.level,
        program=program,
        scope=scope,
        revision=revision,
        as_of=subtree_row.latest_on,
        subtree=published(subtree),
        own=published(figures_of(rows.get(Reach.OWN))),
        target=target,
        percent=percent(subtree.counted, target),
        reached_on=reached,
        days_ahead=days_ahead(period, reached),
        crossings=crossed,
    )


class SnapshotPublisher:
    """Writes the due snapshots to the outbox every ``interval`` seconds."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        fence: Fence,
        reference: LiveReference,
        lock: asyncio.Lock,
        interval: float,
        limit: int,
        wake_relay: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._fence = fence
        self._reference = reference
        self._lock = lock
        self._interval = interval
        self._limit = limit
        self._wake_relay = wake_relay
        self._loop = Loop("progress-snapshots", self._run)

    def start(self) -> None:
        """Publish in the background."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop publishing (what is due stays marked for the next start)."""
        await self._loop.stop()

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
        """Write one snapshot per due (union, scope), up to ``limit``; returns how many.

        The counters of all due unions are read in one query; the daily series only for those
        whose count has passed a milestone threshold (their ``crossings`` are dated from it).
        """
        # At least the version of every change that marked a snapshot due.
        await self._reference.refresh()
        reference = self._reference.current
        async with self._lock, self._sessions() as session, session.begin():
            await self._fence(session)
            query = sa.select(dirty.c.union_code, dirty.c.scope, dirty.c.marks).limit(self._limit)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = (await session.execute(query)).all()
            rows = await tally_rows_of(session, {union_code for union_code, _, _ in due})
            events: list[ProgressUpdatedV1] = []
            for union_code, scope, _ in due:
                period = period_of(reference.program, scope)
                union = reference.tree.get(union_code)
                found = rows.get((union_code, scope), {})
                if period is None or union is None or Reach.SUBTREE not in found:
                    continue
                target = reference.targets.get((union_code, scope))
                goal = target.effective if target else None
                passed = thresholds_passed(
                    reference.milestone_rules,
                    union.level,
                    scope,
                    goal,
                    found[Reach.SUBTREE].counted,
                )
                daily = await daily_series(session, union_code, period) if passed else {}
                events.append(
                    snapshot(
                        union,
                        scope,
                        found,
                        goal,
                        crossings(daily, period, passed),
                        period=period,
                        program=reference.program.code,
                    )
                )
            await add_to_outbox(session, *events)
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

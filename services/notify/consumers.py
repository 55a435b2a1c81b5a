"""AMQP side of the notify service: progress snapshots in, milestones recorded once; reference
changes kept and followed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.context import NotifyContext
from services.notify.milestones import record
from shared.contracts.progress import ProgressUpdatedV1
from shared.contracts.reference import ReferenceChangedV1
from shared.messaging.topology import NOTIFY_PROGRESS, NOTIFY_REFERENCE
from shared.reference.live import record_change


def register(ctx: NotifyContext) -> None:
    """Consume the progress snapshots in micro-batches, in queue order.

    Aggregation publishes hundreds of snapshots a second at its shortest interval; one
    transaction and one acknowledgement per batch (instead of per snapshot) keep up with them.
    """

    async def on_progress(session: AsyncSession, snapshots: Sequence[ProgressUpdatedV1]) -> None:
        await record(
            session, snapshots, rules=ctx.reference.milestone_rules, tree=ctx.reference.tree
        )

    ctx.runtime.consume(
        NOTIFY_PROGRESS,
        ProgressUpdatedV1,
        apply=on_progress,
        max_batch=ctx.settings.notify_batch,
        linger=ctx.settings.notify_linger_seconds,
        leased=True,
    )

    async def on_reference(session: AsyncSession, events: Sequence[ReferenceChangedV1]) -> None:
        for event in events:
            await record_change(session, event)

    ctx.runtime.consume(NOTIFY_REFERENCE, ReferenceChangedV1, apply=on_reference)

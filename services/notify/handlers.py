"""AMQP side of the notify service: progress snapshots in, milestones recorded once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.context import NotifyContext
from services.notify.milestones import record
from shared.contracts.progress import ProgressUpdatedV1
from shared.messaging.consumer import AfterCommit
from shared.messaging.topology import NOTIFY_PROGRESS


def register(ctx: NotifyContext) -> None:
    """Subscribe to the progress snapshots."""

    async def on_progress(session: AsyncSession, event: ProgressUpdatedV1) -> AfterCommit | None:
        await record(session, event, rules=ctx.rules, tree=ctx.reference.tree)
        return None

    ctx.runtime.subscribe(NOTIFY_PROGRESS, ProgressUpdatedV1, on_progress)

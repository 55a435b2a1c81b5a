"""AMQP subscribers of the dedup service: submissions to screen, reviewers' decisions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.dedup.context import DedupContext
from shared.contracts.submission import ReceivedV1, ReviewDecision, ReviewedV1
from shared.messaging.consumer import AfterCommit
from shared.messaging.topology import DEDUP_RECEIVED, DEDUP_REVIEWED


def register(ctx: DedupContext) -> None:
    """Subscribe this service's handlers to its queues."""
    runtime = ctx.runtime

    async def on_received(session: AsyncSession, event: ReceivedV1) -> AfterCommit | None:
        return await ctx.screener.screen(session, event)

    async def on_reviewed(session: AsyncSession, event: ReviewedV1) -> AfterCommit | None:
        if event.decision is ReviewDecision.NOT_DUPLICATE:
            await ctx.screener.dismiss(
                session, event.submission_id, event.duplicate_of, event.review_id
            )
        return None

    runtime.subscribe(DEDUP_RECEIVED, ReceivedV1, on_received, serial=True)
    runtime.subscribe(DEDUP_REVIEWED, ReviewedV1, on_reviewed)

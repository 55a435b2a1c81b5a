"""AMQP subscribers of the dedup service: submissions to screen, reviewers' decisions."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from services.dedup.context import DedupContext
from shared.contracts.submission import ReceivedV1, ReviewDecision, ReviewedV1
from shared.messaging.consumer import AfterCommit
from shared.messaging.topology import DEDUP_RECEIVED, DEDUP_REVIEWED


def register(ctx: DedupContext) -> None:
    """Subscribe this service's handlers to its queues."""
    runtime = ctx.runtime

    async def on_reviewed(session: AsyncSession, event: ReviewedV1) -> AfterCommit | None:
        if event.decision is ReviewDecision.NOT_DUPLICATE:
            await ctx.screener.dismiss(
                session, event.submission_id, event.duplicate_of, event.review_id
            )
        return None

    runtime.consume_in_batches(
        DEDUP_RECEIVED,
        ReceivedV1,
        ctx.screener.screen_in_order,
        max_batch=ctx.settings.dedup_batch,
        linger=ctx.settings.dedup_linger_seconds,
        lock=asyncio.Lock(),
    )
    runtime.subscribe(DEDUP_REVIEWED, ReviewedV1, on_reviewed)

"""AMQP side of the dedup service: submissions to screen, reviewers' decisions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.dedup.context import DedupContext
from shared.contracts.submission import ReceivedV1, ReviewDecision, ReviewedV1
from shared.messaging.topology import DEDUP_RECEIVED, DEDUP_REVIEWED


def register(ctx: DedupContext) -> None:
    """Consume this service's queues."""
    runtime = ctx.runtime

    async def on_reviewed(session: AsyncSession, reviews: Sequence[ReviewedV1]) -> None:
        for review in reviews:
            if review.decision is ReviewDecision.NOT_DUPLICATE:
                await ctx.screener.dismiss(
                    session, review.submission_id, review.duplicate_of, review.review_id
                )

    runtime.consume(
        DEDUP_RECEIVED,
        ReceivedV1,
        apply=ctx.screener.screen_in_order,
        max_batch=ctx.settings.dedup_batch,
        linger=ctx.settings.dedup_linger_seconds,
    )
    runtime.consume(DEDUP_REVIEWED, ReviewedV1, apply=on_reviewed)

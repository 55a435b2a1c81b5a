"""AMQP side of the aggregation service: verdicts and reviews, received and vetted here, applied
in micro-batches by the ledger process; reference changes, kept and followed."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from services.aggregation.context import AggregationContext
from services.aggregation.ledger import mark_due
from shared.contracts.reference import ReferenceChangedV1, TargetsSet
from shared.contracts.submission import ReviewedV1, ScreenedV1
from shared.messaging.consumer import PoisonEvents
from shared.messaging.topology import (
    AGGREGATION_REFERENCE,
    AGGREGATION_REVIEWED,
    AGGREGATION_SCREENED,
)
from shared.reference.live import record_change


class ReferenceBehind(RuntimeError):
    """Events of a union or a day this replica's reference data does not hold yet: retried (the
    change that added the union or the phase may come a moment later on its own queue),
    dead-lettered by the queue's delivery limit if it never comes."""


def register(ctx: AggregationContext) -> None:
    """Consume verdicts and reviews in micro-batches sharing one apply lock, and reference
    changes."""

    def behind(event: ScreenedV1 | ReviewedV1) -> bool:
        """Whether the event names a union, or a day, that a later reference version may add."""
        reference = ctx.reference
        return (
            event.union_code not in reference.tree
            or reference.program.phase_on(event.local_date) is None
        )

    def vet(event: ScreenedV1 | ReviewedV1) -> str | None:
        """Why an event can never be counted here, or None: another program's. Its union and
        day must be in the reference data, but an event ``behind`` is judged at commit, once the
        reference data is looked at again. The union path and phase it carries are not
        compared: the ledger places and phases submissions from its own reference history
        (the path and phases may have changed since the event was sent)."""
        if event.program != ctx.reference.program.code:
            return f"unknown program {event.program!r}"
        return None

    async def commit(events: Sequence[ScreenedV1 | ReviewedV1]) -> int:
        """Have the ledger process apply ``events``, once the reference data holds them."""
        if any(behind(event) for event in events):
            await ctx.live.refresh()
            waiting = sorted({f"{e.union_code} on {e.local_date}" for e in events if behind(e)})
            if waiting:
                raise ReferenceBehind(f"not in reference data yet: {waiting[:5]}")
            refused = {e.message_id: reason for e in events if (reason := vet(e)) is not None}
            if refused:
                raise PoisonEvents(refused)
        return await ctx.ledger.apply(events)

    consume = partial(
        ctx.runtime.consume,
        # Applied by the ledger process (services.aggregation.worker), which needs no inbox: a
        # submission's stored verdict and review sequence say which of its events were applied,
        # so a repeat changes nothing.
        commit=commit,
        vet=vet,
        max_batch=ctx.settings.aggregation_batch,
        linger=ctx.settings.aggregation_linger_seconds,
        lock=ctx.apply_lock,
        # Only the lease holder counts; the ledger process fences each of its transactions.
        leased=True,
    )
    consume(AGGREGATION_SCREENED, ScreenedV1)
    consume(AGGREGATION_REVIEWED, ReviewedV1)

    async def on_reference(session: AsyncSession, events: Sequence[ReferenceChangedV1]) -> None:
        """Keep each change once; a union's changed targets make its snapshots due, so that
        its percent, ``reached_on`` and milestones are judged again against them."""
        for event in events:
            if await record_change(session, event) and isinstance(event.change, TargetsSet):
                union = event.change.union_code
                await mark_due(session, {(union, value.scope) for value in event.change.targets})

    ctx.runtime.consume(AGGREGATION_REFERENCE, ReferenceChangedV1, apply=on_reference)

"""AMQP side of the aggregation service: verdicts and reviews, received and vetted here, applied
in micro-batches by the ledger process."""

from __future__ import annotations

from functools import partial

from services.aggregation.context import AggregationContext
from shared.contracts.submission import ReviewedV1, ScreenedV1
from shared.messaging.topology import AGGREGATION_REVIEWED, AGGREGATION_SCREENED


def register(ctx: AggregationContext) -> None:
    """Consume both queues in micro-batches sharing one apply lock."""
    reference = ctx.reference

    def vet(event: ScreenedV1 | ReviewedV1) -> str | None:
        """Why an event can never be counted here, or None (its facts must match the
        reference data this service loaded: same program, known union and path, right phase)."""
        if event.program != reference.program.code:
            return f"unknown program {event.program!r}"
        if event.union_code not in reference.tree:
            return f"unknown union {event.union_code!r} (reference data out of step?)"
        path = reference.tree.path(event.union_code)
        if tuple(event.union_path) not in (path, path[:-1]):
            return f"union path {event.union_path} differs from the reference tree's {path}"
        phase = reference.program.phase_on(event.local_date)
        if phase is None or phase.code != event.phase:
            return f"local date {event.local_date} is not in phase {event.phase!r}"
        return None

    consume = partial(
        ctx.runtime.consume,
        # Applied by the ledger process (services.aggregation.worker), which needs no inbox: a
        # submission's stored verdict and review sequence say which of its events were applied,
        # so a repeat changes nothing.
        commit=ctx.ledger.apply,
        vet=vet,
        max_batch=ctx.settings.aggregation_batch,
        linger=ctx.settings.aggregation_linger_seconds,
        lock=ctx.apply_lock,
        # Only the lease holder counts; the ledger process fences each of its transactions.
        leased=True,
    )
    consume(AGGREGATION_SCREENED, ScreenedV1)
    consume(AGGREGATION_REVIEWED, ReviewedV1)

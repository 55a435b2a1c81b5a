"""``python -m tests.support.hold_before_ack serve``: the aggregation service, except that after
its first committed batch it stops before the ack and waits to be killed (crash tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from services.aggregation.__main__ import cli
from services.aggregation.worker import LedgerWorker
from shared.contracts.submission import ReviewedV1, ScreenedV1

log = structlog.get_logger(__name__)
apply = LedgerWorker.apply


async def apply_then_hold(self: LedgerWorker, events: Sequence[ScreenedV1 | ReviewedV1]) -> int:
    """Commit the batch through the ledger process, then never return (so never ack)."""
    await apply(self, events)
    log.warning("holding_before_ack", deliveries=len(events))
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


if __name__ == "__main__":
    LedgerWorker.apply = apply_then_hold  # type: ignore[method-assign]
    cli()

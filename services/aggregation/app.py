"""The aggregation service's ASGI app: progress API, micro-batch consumers, snapshot publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from services.aggregation import api, board, consumers
from services.aggregation.context import AggregationContext
from services.aggregation.reference_copy import copy_reference
from services.aggregation.settings import AggregationSettings
from services.aggregation.worker import LedgerFailed, LedgerUnavailable
from shared import http
from shared.reference.catalog import ReferenceData
from shared.reference.targets import PROGRAM_SCOPE
from shared.reference.unions import LEVELS

log = structlog.get_logger(__name__)


def create_app(settings: AggregationSettings | None = None) -> FastAPI:
    """Build the app; the database is migrated and the broker connected at start-up."""
    ctx = AggregationContext.build(settings or AggregationSettings())
    consumers.register(ctx)

    async def copied(reference: ReferenceData) -> None:
        await copy_reference(ctx.runtime.sessions, reference)

    async def placed(_reference: ReferenceData) -> None:
        # A union moved or merged: counted where it now belongs without waiting for a batch.
        # Not under the apply lock: a batch's commit refreshes the reference data holding it.
        # The ledger process takes one request at a time.
        if ctx.runtime.active:
            try:
                await ctx.ledger.follow_reference()
            except (LedgerUnavailable, LedgerFailed) as error:
                log.warning("reference_placed_at_next_batch", error=str(error)[:300])

    ctx.live.when_changed(copied)
    ctx.live.when_changed(placed)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def prepare() -> None:
            # Once the database is migrated, before anything is consumed or asked.
            await ctx.live.refresh()
            await copy_reference(ctx.runtime.sessions, ctx.reference)
            await ctx.ledger.start()

        await ctx.runtime.start(prepare=prepare)
        ctx.revisions.start()
        ctx.live.start()
        yield
        await ctx.live.stop()
        await ctx.revisions.stop()
        await ctx.runtime.stop()
        await ctx.ledger.stop()

    app = FastAPI(
        title="Sáng kiến: aggregation service",
        version="1.0.0",
        description="Counts per union and phase, rolled up the union tree, against targets.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    scopes = [PROGRAM_SCOPE, *(phase.code for phase in ctx.reference.program.phases)]
    enums = {"scope": scopes, "level": list(LEVELS)}
    http.install(app, ctx.runtime, max_body_bytes=4 * 1024, enums=enums)
    app.include_router(api.router)
    board.install(app)
    return app

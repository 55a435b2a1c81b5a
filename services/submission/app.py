"""The submission service's ASGI app: routes, subscribers and runtime wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.submission import api, consumers, reference_api, review_api
from services.submission.context import SubmissionContext
from services.submission.settings import SubmissionSettings
from shared import http


def create_app(settings: SubmissionSettings | None = None) -> FastAPI:
    """Build the app; the database is migrated and the broker connected at start-up."""
    ctx = SubmissionContext.build(settings or SubmissionSettings())
    consumers.register(ctx)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ctx.runtime.start(ctx.prepare)
        ctx.live.start()
        yield
        await ctx.live.stop()
        await ctx.runtime.stop()

    app = FastAPI(
        title="Sáng kiến: submission service",
        version="1.0.0",
        description="Intake of initiatives from portal frontends, idempotent by the client's key.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    http.install(app, ctx.runtime, max_body_bytes=ctx.settings.max_body_bytes, keyring=ctx.keys)
    app.include_router(api.router)
    app.include_router(review_api.router)
    app.include_router(reference_api.router)
    return app

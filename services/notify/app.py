"""The notify service's ASGI app: subscriptions API, progress consumer, dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.notify import api, consumers
from services.notify.context import NotifyContext
from services.notify.settings import NotifySettings
from shared import http


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the app; the database is migrated and the broker connected at start-up."""
    ctx = NotifyContext.build(settings or NotifySettings())
    consumers.register(ctx)

    async def prepare() -> None:
        await ctx.live.refresh()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ctx.runtime.start(prepare=prepare)
        ctx.live.start()
        yield
        await ctx.live.stop()
        await ctx.runtime.stop()

    app = FastAPI(
        title="Sáng kiến: notify service",
        version="1.0.0",
        description="Milestones fired exactly once; notices by signed webhook and e-mail.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    http.install(app, ctx.runtime, max_body_bytes=64 * 1024, keyring=ctx.keys)
    app.include_router(api.router)
    return app

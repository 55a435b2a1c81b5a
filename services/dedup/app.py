"""The dedup service's ASGI app: health, readiness, metrics; consumers and index wired in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.dedup import consumers
from services.dedup.context import DedupContext
from services.dedup.settings import DedupSettings
from shared import http


def create_app(settings: DedupSettings | None = None) -> FastAPI:
    """Build the app; the index is rebuilt from the database before consuming starts."""
    ctx = DedupContext.build(settings or DedupSettings())
    consumers.register(ctx)

    async def rebuild() -> None:
        await ctx.screener.rebuild(ctx.runtime.sessions)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ctx.runtime.start(prepare=rebuild)
        yield
        await ctx.runtime.stop()

    app = FastAPI(title="Sáng kiến: dedup service", version="1.0.0", lifespan=lifespan)
    app.state.ctx = ctx
    http.install(app, ctx.runtime, max_body_bytes=64 * 1024)
    return app

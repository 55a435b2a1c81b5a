"""A service app running in the test's event loop, ready, with an HTTP client of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from shared.polling import poll


@asynccontextmanager
async def serving(app: FastAPI, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` (database, broker), wait until it is ready, and yield a client of it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as http:
            await poll(lambda: http.get("/ready"), lambda r: r.status_code == 200, 60, "ready")
            yield http

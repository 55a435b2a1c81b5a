"""Fixtures of the shared parts' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.context import MIGRATIONS
from shared.db import make_engine, make_sessionmaker, migrate


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated notify database of each kind: it has every table the shared parts keep
    (inbox, outbox, leases) and a delivery log."""
    engine = make_engine(database_url)
    await migrate(engine, MIGRATIONS)
    yield make_sessionmaker(engine)
    await engine.dispose()

"""Fixtures of the aggregation tests that need no broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.aggregation.context import MIGRATIONS
from shared.db import make_engine, migrate


@pytest.fixture(scope="session")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty aggregation database (SQLite) to copy for each example."""
    path = tmp_path_factory.mktemp("ledger") / "template.sqlite3"

    async def create() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine, MIGRATIONS)
        await engine.dispose()

    asyncio.run(create())
    return path

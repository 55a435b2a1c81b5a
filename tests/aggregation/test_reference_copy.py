"""The database's copy of the reference data (what leaderboards are ranked on) is written once
per version of the reference, replicas starting together included."""

from __future__ import annotations

import asyncio
import dataclasses

import sqlalchemy as sa

from services.aggregation.context import MIGRATIONS
from services.aggregation.reference_copy import copy_reference
from services.aggregation.store import ranked_unions, union_targets
from shared.db import make_engine, make_sessionmaker, migrate
from shared.reference.targets import Target
from tests.support.events import reference


async def test_the_copy_is_written_once_per_reference_and_follows_a_change(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        await migrate(engine, MIGRATIONS)
        current = reference()
        # Two replicas starting at once: on PostgreSQL one writes, the other waits for the lock
        # and finds the copy current (SQLite serves one host: a second write is only repeated).
        written = await asyncio.gather(*(copy_reference(sessions, current) for _ in range(2)))
        assert True in written
        if database_url.startswith("postgresql"):
            assert sorted(written) == [False, True]
        assert await copy_reference(sessions, current) is False
        changed = dataclasses.replace(
            current,
            targets={
                **current.targets,
                ("ldld-ha-noi", "program"): Target("ldld-ha-noi", "program", 60_000, 150_000),
            },
        )
        assert await copy_reference(sessions, changed) is True
        async with sessions() as session:
            unions = await session.scalar(sa.select(sa.func.count()).select_from(ranked_unions))
            target = await session.scalar(
                sa.select(union_targets.c.effective).where(
                    union_targets.c.union_code == "ldld-ha-noi", union_targets.c.scope == "program"
                )
            )
    finally:
        await engine.dispose()
    assert unions == len(current.tree)
    assert target == 150_000

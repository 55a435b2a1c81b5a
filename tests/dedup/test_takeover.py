"""A standby screener that takes over sees what the active one screened meanwhile."""

from __future__ import annotations

import random
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.perturb import edit_words
from pipeline.texts import initiative
from services.dedup.context import MIGRATIONS
from services.dedup.matching import MatchingParameters
from services.dedup.screening import Screener
from services.dedup.store import documents
from shared.db import make_engine, make_sessionmaker, migrate
from tests.support.events import received


async def test_standby_catches_up_before_screening(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'dedup.sqlite3'}")
    await migrate(engine, MIGRATIONS)
    sessions = make_sessionmaker(engine)
    active, standby = (Screener(MatchingParameters(), cache_size=0) for _ in range(2))
    assert await standby.rebuild(sessions) == 0
    rng = random.Random(31)
    original = received(initiative(rng))
    async with sessions() as session, session.begin():
        await active.screen_in_order(session, [original])
    copy = received(edit_words(rng, 0.05)(initiative(random.Random(31))))
    async with sessions() as session, session.begin():
        await standby.screen_in_order(session, [copy])
        screened = await session.execute(
            sa.text("SELECT verdict, best_match_id FROM documents WHERE submission_id = :id"),
            {"id": copy.submission_id},
        )
        verdict, best = screened.one()
    await engine.dispose()
    assert (verdict, best) == ("near_duplicate", original.submission_id)


async def test_a_rolled_back_batch_leaves_nothing_behind_in_the_index(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'dedup.sqlite3'}")
    await migrate(engine, MIGRATIONS)
    sessions = make_sessionmaker(engine)
    screener = Screener(MatchingParameters(), cache_size=10)
    text = initiative(random.Random(7))
    lost, first, second = (received(text) for _ in range(3))
    async with sessions() as session:
        await session.begin()
        await screener.screen_in_order(session, [lost])  # its commit fails, say
        await session.rollback()
    async with sessions() as session, session.begin():
        await screener.screen_in_order(session, [first, second])

    async with sessions() as session:
        verdicts = dict(
            (await session.execute(sa.select(documents.c.submission_id, documents.c.verdict))).all()
        )
    # Not a copy of the lost one (never stored); the second is a copy of the first, same batch.
    assert verdicts == {first.submission_id: "unique", second.submission_id: "exact_duplicate"}
    await engine.dispose()


async def test_a_rolled_back_batch_leaves_nothing_even_if_the_database_was_away_at_the_check(
    tmp_path: Path,
) -> None:
    """A batch screened in a transaction that never committed (the database went away) is
    dropped from the index before the next batch, even when the first check of it fails too."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'dedup.sqlite3'}")
    await migrate(engine, MIGRATIONS)
    sessions = make_sessionmaker(engine)
    screener = Screener(MatchingParameters(), cache_size=0)
    await screener.rebuild(sessions)
    event = received(initiative(random.Random(5)))
    async with sessions() as session:
        await session.begin()
        await screener.screen_in_order(session, [event])
        await session.rollback()

    class DatabaseAway:
        async def scalar(self, *_: object, **__: object) -> None:
            raise OperationalError("SELECT", {}, ConnectionRefusedError("database away"))

    with pytest.raises(OperationalError):
        await screener.settle(cast(AsyncSession, DatabaseAway()))
    async with sessions() as session, session.begin():
        await screener.screen_in_order(session, [event])
        verdict = await session.scalar(
            sa.text("SELECT verdict FROM documents WHERE submission_id = :id"),
            {"id": event.submission_id},
        )
    await engine.dispose()
    assert verdict == "unique"  # not a duplicate of its own rolled-back ghost

"""A standby screener that takes over sees what the active one screened meanwhile."""

from __future__ import annotations

import random
from pathlib import Path

import sqlalchemy as sa

from pipeline.perturb import edit_words
from pipeline.texts import initiative
from services.dedup.context import MIGRATIONS
from services.dedup.matching import MatchingParameters
from services.dedup.screening import Screener
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
        after_commit = await active.screen(session, original)
    after_commit()
    copy = received(edit_words(rng, 0.05)(initiative(random.Random(31))))
    async with sessions() as session, session.begin():
        await standby.screen(session, copy)
        screened = await session.execute(
            sa.text("SELECT verdict, best_match_id FROM documents WHERE submission_id = :id"),
            {"id": copy.submission_id},
        )
        verdict, best = screened.one()
    await engine.dispose()
    assert (verdict, best) == ("near_duplicate", original.submission_id)

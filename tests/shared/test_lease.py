"""The lease that makes one replica active: taking it, keeping it, fencing, handing it over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.context import MIGRATIONS
from shared.db import make_engine, make_sessionmaker, migrate, unapplied_migrations
from shared.lease import Lease, LeaseLost, claim, fence
from shared.polling import poll
from tests.support.postgres import PrivatePostgres

Sessions = async_sessionmaker[AsyncSession]


async def claimed(sessions: Sessions, holder: str, ttl: float) -> int | None:
    async with sessions() as session, session.begin():
        return await claim(session, "notify", holder, ttl)


async def fenced(sessions: Sessions, holder: str) -> None:
    async with sessions() as session, session.begin():
        await fence(session, "notify", holder, 0.2)


async def test_one_holder_at_a_time_and_a_new_term_at_each_takeover(sessions: Sessions) -> None:
    assert await claimed(sessions, "a", ttl=0.2) == 1
    assert await claimed(sessions, "b", ttl=0.2) is None
    assert await claimed(sessions, "a", ttl=0.2) == 1  # renewed: same term
    await fenced(sessions, "a")
    with pytest.raises(LeaseLost):
        await fenced(sessions, "b")
    # "a" stops renewing (killed, paused): once expired, "b" takes it and "a" is fenced off.
    term = await poll(lambda: claimed(sessions, "b", ttl=30.0), lambda t: t is not None, 10, "b")
    assert term == 2
    with pytest.raises(LeaseLost):
        await fenced(sessions, "a")
    assert await claimed(sessions, "a", ttl=30.0) is None


async def test_a_graceful_stop_hands_the_lease_over_at_once(sessions: Sessions) -> None:
    roles: list[str] = []

    def replica(name: str) -> Lease:
        async def gained() -> None:
            roles.append(f"{name} active")

        async def lost() -> None:
            roles.append(f"{name} standby")

        # A long life: only the release, not the expiry, can let "b" in within the test.
        return Lease(sessions, "notify", ttl=120.0, on_gained=gained, on_lost=lost)

    a, b = replica("a"), replica("b")
    a.start()
    await poll(lambda: asyncio.sleep(0, a.held), bool, 10, "a active")
    b.start()
    try:
        assert await claimed(sessions, b.holder, ttl=120.0) is None
        await a.stop()
        await poll(lambda: asyncio.sleep(0, b.held), bool, 120 / 4 + 10, "b active")
        with pytest.raises(LeaseLost):
            async with sessions() as session, session.begin():
                await a.fence(session)
    finally:
        await b.stop()
    assert roles == ["a active", "a standby", "b active", "b standby"]


async def test_a_takeover_waits_for_the_holders_fenced_transaction(
    postgres: PrivatePostgres,
) -> None:
    """On PostgreSQL the fence locks the lease row: a standby's claim waits for the holder's
    transaction and then finds the lease renewed, so the holder's writes and a takeover never
    overlap."""
    engine = make_engine(await postgres.new_database())
    await migrate(engine, MIGRATIONS)
    sessions = make_sessionmaker(engine)
    try:
        assert await claimed(sessions, "a", ttl=0.1) == 1
        async with sessions() as session, session.begin():
            await asyncio.sleep(0.2)  # expired before the holder's next transaction began
            with pytest.raises(LeaseLost):
                await fence(session, "notify", "a", 30.0)
        assert await claimed(sessions, "a", ttl=0.1) == 1  # free again: "a" takes it back
        async with sessions() as holding, holding.begin():
            await fence(holding, "notify", "a", 30.0)
            takeover = asyncio.create_task(claimed(sessions, "b", ttl=30.0))
            await poll(lambda: lock_waiters(sessions), bool, 10, "the takeover waiting on a lock")
            waiting = not takeover.done()  # on the row lock, until the holder commits
        assert waiting
        assert await takeover is None
    finally:
        await engine.dispose()


async def test_a_replica_that_does_not_migrate_names_the_missing_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'notify.sqlite3'}")
    try:
        await migrate(engine, MIGRATIONS, "0004")
        assert await unapplied_migrations(engine, MIGRATIONS) == (
            "database schema at revision 0004, the code needs 0005"
        )
        await migrate(engine, MIGRATIONS)
        assert await unapplied_migrations(engine, MIGRATIONS) is None
    finally:
        await engine.dispose()


async def lock_waiters(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many of this database's sessions wait on a lock (PostgreSQL's own view of them)."""
    async with sessions() as session:
        waiting = await session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return int(waiting or 0)

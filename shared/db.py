"""Database engines and migrations shared by the services (SQLAlchemy 2 async, Alembic)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")

# SQLSTATEs of a server going away under a statement: class 08 (connection exceptions), and
# the server shutting down, crashing or still starting (57P01, 57P02, 57P03). asyncpg reports
# the latter as plain PostgreSQL errors, which SQLAlchemy wraps as DBAPIError, neither
# OperationalError nor InterfaceError.
_SERVER_AWAY = ("08", "57P01", "57P02", "57P03")


def database_away(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached for now (a restart, a failover, a
    terminated connection), not that what was asked of it was wrong: the caller waits and tries
    again, or answers 503."""
    if isinstance(error, OperationalError | InterfaceError | OSError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    state = getattr(error.orig, "sqlstate", None) or ""
    return error.connection_invalidated or state.startswith(_SERVER_AWAY)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime stored as UTC. SQLite keeps no offset: without this, a time sent with
    +07:00 would be stored as its wall-clock reading and read back as naive, an instant off."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Aware datetimes go in as UTC."""
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Naive values (SQLite's) come back as the UTC they were stored in."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5) -> AsyncEngine:
    """An async engine: on PostgreSQL with a pool of ``pool_size`` (+ ``max_overflow``)
    connections; SQLite gets one connection in WAL mode. Its errors never show the statement's
    parameters (contact details, member ids): an error's text ends up in logs.

    SQLite admits one writer at a time and makes the others wait by sleeping in its busy handler
    (up to 100 ms a turn): with a pool, concurrent requests spend their time asleep. One
    connection queues them in-process instead, which is several times faster under load.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            hide_parameters=True,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # 64 MiB of page cache instead of 2 MiB: counters and inboxes of a million
            # submissions are read and written all over their B-trees.
            cursor.execute("PRAGMA cache_size=-65536")
            # Checkpoint every 80 MiB of WAL rather than 4 MiB: pages that batch after batch
            # dirties (the upper unions' counters) are then copied back once, not every commit.
            cursor.execute("PRAGMA wal_autocheckpoint=20000")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        hide_parameters=True,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(script_location: Path, connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine, script_location: Path, revision: str = "head") -> None:
    """Bring the service's schema to ``revision``, the newest by default (idempotent).

    On PostgreSQL the migration holds a transaction-scoped advisory lock, so replicas starting
    together migrate one after the other: the second finds the schema current. (SQLite is one
    process's database: its single writer lock is enough.)
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            key = zlib.crc32(f"sangkien-migrations:{script_location.parent.name}".encode())
            await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        await connection.run_sync(
            lambda sync: command.upgrade(_alembic_config(script_location, sync), revision)
        )


async def unapplied_migrations(engine: AsyncEngine, script_location: Path) -> str | None:
    """Why the schema is not at the newest revision (for a service that does not migrate at
    start-up), or None when it is."""

    def compare(sync: Connection) -> str | None:
        head = ScriptDirectory.from_config(
            _alembic_config(script_location, sync)
        ).get_current_head()
        current = MigrationContext.configure(sync).get_current_revision()
        if current == head:
            return None
        return f"database schema at revision {current or 'none'}, the code needs {head}"

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


def run_migrations_online(context: Any, target_metadata: Any) -> None:
    """Body of every service's ``env.py``: migrate on the connection handed in by ``migrate``."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def upsert(
    dialect: str,
    table: sa.Table,
    *,
    add: tuple[str, ...] = (),
    greatest: tuple[str, ...] = (),
    replace: tuple[str, ...] = (),
) -> Insert:
    """INSERT … ON CONFLICT (primary key) DO UPDATE, for SQLite and PostgreSQL: ``add`` columns
    are summed with the stored value, ``greatest`` keep the larger, ``replace`` are overwritten.

    Run it with a list of rows (an executemany): one round trip for a whole batch of counters.
    """
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    bigger = sa.func.greatest if dialect == "postgresql" else sa.func.max
    update: dict[str, Any] = {name: table.c[name] + insert.excluded[name] for name in add}
    update |= {name: bigger(table.c[name], insert.excluded[name]) for name in greatest}
    update |= {name: insert.excluded[name] for name in replace}
    keys = [column.name for column in table.primary_key.columns]
    if not update:
        return insert.on_conflict_do_nothing(index_elements=keys)
    return insert.on_conflict_do_update(index_elements=keys, set_=update)


async def execute_many(
    session: AsyncSession, statement: Insert, rows: list[dict[str, Any]]
) -> None:
    """Run ``statement`` (e.g. an ``upsert``) for many rows with the driver's own executemany.

    SQLAlchemy's executemany processes every parameter of every row in Python, which costs more
    than the database does for counter upserts; the statement is compiled once here instead.
    Values must be ones the driver takes as they are (str, int, date, None). The caller's
    transaction must have begun with an earlier statement, so that this one joins it.
    """
    if not rows:
        return
    connection = await session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    in_order = itemgetter(*(compiled.positiontup or ()))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.executemany(compiled.string, [in_order(row) for row in rows])


def migrate_database(url: str, migrations: Path, *, pool_size: int = 1) -> None:
    """Migrate the database at ``url`` to the newest revision and return (the ``migrate``
    command every service has, run once before its replicas start)."""

    async def run() -> None:
        engine = make_engine(url, pool_size=pool_size)
        try:
            await migrate(engine, migrations)
        finally:
            await engine.dispose()

    asyncio.run(run())


async def in_migrated_database(
    url: str, migrations: Path, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Migrate the database at ``url`` and run ``work`` in one transaction (for CLI commands)."""
    engine = make_engine(url)
    await migrate(engine, migrations)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()

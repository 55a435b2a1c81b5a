"""The copy of the reference data that the database ranks leaderboards on.

Written at start-up when the reference files differ from the copy held (its fingerprint), in one
transaction: a replica starting beside another waits for the other's copy (a table lock on
PostgreSQL, SQLite's one writer) and then finds it current.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.aggregation.store import ranked_unions, reference_fingerprint, union_targets
from shared.reference.catalog import ReferenceData

log = structlog.get_logger(__name__)
CHUNK = 10_000


def _union_rows(reference: ReferenceData) -> list[dict[str, object]]:
    """The unions ranked and listed as children: all but the merged ones, whose submissions
    count, as of now, in the union each merged into."""
    return [
        {
            "union_code": union.code,
            "level": union.level,
            "cluster": union.cluster or None,
            "parent_code": union.parent_code,
        }
        for union in reference.tree
        if union.merged_into is None
    ]


def _target_rows(reference: ReferenceData) -> list[dict[str, object]]:
    return [
        {"union_code": code, "scope": scope, "effective": target.effective}
        for (code, scope), target in sorted(reference.targets.items())
    ]


def _fingerprint(tables: dict[sa.Table, list[dict[str, object]]]) -> str:
    """A hash of everything the copy holds."""
    digest = hashlib.sha256()
    for rows in tables.values():
        for row in rows:
            digest.update(repr(list(row.values())).encode())
    return digest.hexdigest()


def _chunks(rows: list[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


async def _held(session: AsyncSession) -> str | None:
    return await session.scalar(
        sa.select(reference_fingerprint.c.fingerprint).where(
            reference_fingerprint.c.name == "reference"
        )
    )


async def copy_reference(
    sessions: async_sessionmaker[AsyncSession], reference: ReferenceData
) -> bool:
    """Make the database's copy of ``reference`` current; whether it had to be written."""
    tables = {ranked_unions: _union_rows(reference), union_targets: _target_rows(reference)}
    wanted = _fingerprint(tables)
    async with sessions() as session, session.begin():
        if await _held(session) == wanted:
            return False
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(sa.text("LOCK TABLE reference_fingerprint IN EXCLUSIVE MODE"))
            if await _held(session) == wanted:  # another replica wrote it meanwhile
                return False
        await session.execute(ranked_unions.delete())
        await session.execute(union_targets.delete())
        await session.execute(reference_fingerprint.delete())
        for table, rows in tables.items():
            for chunk in _chunks(rows):
                await session.execute(table.insert(), chunk)
        await session.execute(
            reference_fingerprint.insert().values(name="reference", fingerprint=wanted)
        )
    log.info("reference_copied", unions=len(reference.tree), targets=len(reference.targets))
    return True

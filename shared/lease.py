"""One active replica among several: a lease row in the service's own database, with fencing.

Parts of a service that must have a single writer (aggregation's ledger and snapshot publisher,
notify's milestone recorder and dispatcher) run only in the replica that holds the service's
lease; the other replicas are hot standbys that try to take it every few seconds.

- **Taking and keeping it.** The holder renews the row every ``ttl / 4`` seconds. A replica
  takes the lease when it is free or has expired (its holder was killed, or lost the database).
  A graceful stop releases it, so a standby takes over at its next try rather than after ``ttl``.
- **Fencing.** A lease alone does not stop a holder that was paused past its expiry from writing
  after the standby took over. So every transaction of a leased part starts with ``fence``: a
  conditional update of the lease row that succeeds only for its current holder. On PostgreSQL
  it locks the row until the transaction ends, so a takeover waits for the holder's commit and a
  late holder's commit fails with ``LeaseLost``; on SQLite, one writer at a time does the same.
  Correctness does not depend on the replicas' clocks agreeing, only when a takeover happens.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.background import Loop
from shared.contracts.envelope import utc_now
from shared.db import UtcDateTime

log = structlog.get_logger(__name__)
LEASE_HELD = Gauge(
    "sangkien_lease_held", "1 while this replica holds its service's lease (is active).", ["lease"]
)


class LeaseLost(Exception):
    """This replica does not hold the lease it writes under: another one took over."""


def lease_columns() -> list[sa.Column[Any]]:
    """Columns of ``leases``: one row per lease, naming its holder until it expires."""
    return [
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("term", sa.Integer, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    ]


def create_lease_table(op: Any) -> None:
    """Alembic step that creates ``leases`` (used by the services that have a leased part)."""
    op.create_table("leases", *lease_columns())


LEASES = sa.Table("leases", sa.MetaData(), *lease_columns())


def new_holder() -> str:
    """An id for this process, unique across restarts and hosts (logged, shown in readiness)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def claim(session: AsyncSession, name: str, holder: str, ttl: float) -> int | None:
    """Take or renew lease ``name`` for ``holder`` in the caller's transaction; its term (which
    grows at every change of holder) while held, None while another replica holds it."""
    now = utc_now()
    expires = now + timedelta(seconds=ttl)
    taken = await session.execute(
        sa.update(LEASES)
        .where(
            LEASES.c.name == name,
            sa.or_(LEASES.c.holder == holder, LEASES.c.expires_at < now),
        )
        .values(
            holder=holder,
            expires_at=expires,
            term=sa.case((LEASES.c.holder == holder, LEASES.c.term), else_=LEASES.c.term + 1),
        )
        .returning(LEASES.c.term)
    )
    term = taken.scalar_one_or_none()
    if term is not None:
        return int(term)
    dialect = session.get_bind().dialect.name
    insert = sa.dialects.postgresql.insert if dialect == "postgresql" else sa.dialects.sqlite.insert
    created = await session.execute(
        insert(LEASES)
        .values(name=name, holder=holder, term=1, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(LEASES.c.term)
    )
    return 1 if created.scalar_one_or_none() is not None else None


async def fence(session: AsyncSession, name: str, holder: str, ttl: float) -> None:
    """First statement of a leased transaction: extend the lease, or raise ``LeaseLost`` if
    ``holder`` no longer holds it. Holds the lease row until the transaction ends."""
    now = utc_now()
    kept = await session.execute(
        sa.update(LEASES)
        .where(LEASES.c.name == name, LEASES.c.holder == holder, LEASES.c.expires_at >= now)
        .values(expires_at=now + timedelta(seconds=ttl))
    )
    if kept.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"lease {name!r} is not held by {holder}")


Transition = Callable[[], Awaitable[None]]


class Lease:
    """Keeps trying to hold lease ``name``; runs ``on_gained`` when this replica becomes active
    and ``on_lost`` when it stops being so (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        name: str,
        *,
        ttl: float,
        on_gained: Transition,
        on_lost: Transition,
    ) -> None:
        self.name = name
        self.holder = new_holder()
        self.ttl = ttl
        self.held = False
        self._sessions = sessions
        self._on_gained = on_gained
        self._on_lost = on_lost
        self._renewed_at = 0.0
        self._loop = Loop(f"lease:{self.name}", self._run)

    async def fence(self, session: AsyncSession) -> None:
        """``fence`` this replica's hold in ``session``'s transaction."""
        await fence(session, self.name, self.holder, self.ttl)

    def start(self) -> None:
        """Try to take the lease now and every ``ttl / 4`` seconds."""
        self._loop.start()

    async def stop(self) -> None:
        """Stop trying; if held, run ``on_lost`` and release the lease for a standby to take."""
        await self._loop.stop()
        if self.held:
            await self._change(False)
            try:
                async with self._sessions() as session, session.begin():
                    await session.execute(
                        sa.update(LEASES)
                        .where(LEASES.c.name == self.name, LEASES.c.holder == self.holder)
                        .values(expires_at=utc_now() - timedelta(seconds=1))
                    )
            except Exception:
                log.warning("lease_release_failed", lease=self.name, exc_info=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    term = await claim(session, self.name, self.holder, self.ttl)
                if term is not None:
                    self._renewed_at = loop.time()
                if (term is not None) != self.held:
                    log.info(
                        "lease_gained" if term is not None else "lease_lost_to_another_replica",
                        lease=self.name,
                        holder=self.holder,
                        term=term,
                    )
                    await self._change(term is not None)
            except Exception as error:
                # Unrenewed past its expiry, the lease may be another replica's by now.
                if self.held and loop.time() - self._renewed_at >= self.ttl:
                    log.error("lease_expired_unrenewed", lease=self.name, error=repr(error)[:200])
                    await self._change(False)
                else:
                    log.warning("lease_renewal_failed", lease=self.name, error=repr(error)[:200])
            await asyncio.sleep(self.ttl / 4)

    async def _change(self, held: bool) -> None:
        """Become active (held only once ``on_gained`` succeeded: if it fails, the next round
        tries again) or standby (at once, whatever ``on_lost`` does)."""
        if held:
            await self._on_gained()
        self.held = held
        LEASE_HELD.labels(lease=self.name).set(int(held))
        if not held:
            await self._on_lost()

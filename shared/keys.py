"""API keys: ``<prefix>_<key id>_<secret>``, stored as a SHA-256 of the secret, cached briefly.

The secret is 256 random bits, so a slow password hash would add nothing but latency on every
request. Each service keeps its own clients table; this module is the format, the checks, and
creating, listing and revoking keys (``Keyring``); ``shared.keys_cli`` is the operators' command.
A key may expire; a revoked or expired key stops working within the cache's 30 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.envelope import utc_now
from shared.reference.unions import UnionTree

C = TypeVar("C")


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: what to store (id, hash) and what to show once (``presented``)."""

    key_id: str
    secret_hash: str
    presented: str


def digest(secret: str) -> str:
    """What is stored of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(prefix: str) -> NewKey:
    """A new random key with ``prefix``."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, digest(secret), f"{prefix}_{key_id}_{secret}")


def split_key(presented: str | None, prefix: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key with ``prefix``, or None when it is not one."""
    if not presented:
        return None
    found_prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if found_prefix != prefix or not key_id or not secret:
        return None
    return key_id, secret


def matches(secret: str, secret_hash: str) -> bool:
    """Whether ``secret`` is the one whose hash is stored (constant time)."""
    return hmac.compare_digest(secret_hash, digest(secret))


class KeyCache(Generic[C]):
    """Keys verified recently, so that a busy client does not cost a query per request.

    A revoked key keeps working for at most ``ttl`` seconds in each process.
    """

    def __init__(self, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, C]] = {}

    def get(self, presented: str) -> C | None:
        """The client of a key verified less than ``ttl`` seconds ago."""
        entry = self._entries.get(presented)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, presented: str, client: C) -> None:
        """Remember a verified key."""
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[presented] = (time.monotonic() + self._ttl, client)


class Keyring(Generic[C]):
    """A service's API keys: its clients table (``key_id``, ``name``, ``secret_hash``, ``scopes``,
    ``created_at``, ``expires_at``, ``revoked_at`` and columns of its own), the prefix of its keys,
    how a row becomes the service's client object, and the cache of keys verified recently."""

    def __init__(self, table: sa.Table, prefix: str, client_of: Callable[[sa.Row], C]) -> None:
        self.table = table
        self.prefix = prefix
        self._client_of = client_of
        self._cache: KeyCache[C] = KeyCache()

    async def create(
        self,
        session: AsyncSession,
        *,
        name: str,
        scopes: list[str],
        tree: UnionTree,
        expires_at: datetime | None = None,
        **columns: Any,
    ) -> str:
        """Store a new client covering the subtrees of ``scopes`` and return its key as presented
        to its holder, once (only a hash is stored). ValueError for unknown union codes or an
        expiry in the past."""
        unknown = [code for code in scopes if code not in tree]
        if not scopes or unknown:
            raise ValueError(
                f"scopes must be known union codes; unknown: {unknown or 'none given'}"
            )
        now = utc_now()
        if expires_at is not None and expires_at <= now:
            raise ValueError(f"the expiry {expires_at.isoformat()} is not in the future")
        key = new_key(self.prefix)
        await session.execute(
            self.table.insert().values(
                key_id=key.key_id,
                secret_hash=key.secret_hash,
                created_at=now,
                expires_at=expires_at,
                name=name,
                scopes=sorted(set(scopes)),
                **columns,
            )
        )
        return key.presented

    async def authenticate(
        self, sessions: async_sessionmaker[AsyncSession], presented: str | None
    ) -> C | None:
        """The client a presented key belongs to, or None for a missing, malformed, wrong,
        expired or revoked key. A key verified less than 30 s ago is not looked up again."""
        if not presented:
            return None
        found = self._cache.get(presented)
        if found is not None:
            return found
        parts = split_key(presented, self.prefix)
        if parts is None:
            return None
        key_id, secret = parts
        async with sessions() as session:
            row = (
                await session.execute(
                    sa.select(self.table).where(self.table.c.key_id == key_id, self.live())
                )
            ).first()
        if row is None or not matches(secret, row.secret_hash):
            return None
        client = self._client_of(row)
        self._cache.put(presented, client)
        return client

    def live(self) -> sa.ColumnElement[bool]:
        """The condition that a client's key works now: neither revoked nor expired."""
        return sa.and_(
            self.table.c.revoked_at.is_(None),
            sa.or_(self.table.c.expires_at.is_(None), self.table.c.expires_at > utc_now()),
        )

    async def listing(self, session: AsyncSession) -> list[sa.Row]:
        """Every client, oldest first (no secrets: only their hashes are stored)."""
        query = sa.select(self.table).order_by(self.table.c.created_at, self.table.c.key_id)
        return list((await session.execute(query)).all())

    async def revoke(self, session: AsyncSession, key_id: str) -> bool:
        """Revoke a key from now on (each process stops taking it within 30 s); False when there
        is no such live key."""
        revoked = await session.scalars(
            self.table.update()
            .where(self.table.c.key_id == key_id, self.table.c.revoked_at.is_(None))
            .values(revoked_at=utc_now())
            .returning(self.table.c.key_id)
        )
        return revoked.first() is not None

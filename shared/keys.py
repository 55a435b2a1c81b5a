"""API keys: ``<prefix>_<key id>_<secret>``, stored as a SHA-256 of the secret, cached briefly.

The secret is 256 random bits, so a slow password hash would add nothing but latency on every
request. Each service keeps its own clients table; this module is the format and the checks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import utc_now

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


async def store_key(session: AsyncSession, table: sa.Table, prefix: str, **columns: Any) -> str:
    """Insert a new key into a clients ``table`` (``key_id``, ``secret_hash``, ``created_at``
    plus ``columns``) and return it as presented to its holder, once."""
    key = new_key(prefix)
    await session.execute(
        table.insert().values(
            key_id=key.key_id, secret_hash=key.secret_hash, created_at=utc_now(), **columns
        )
    )
    return key.presented


async def find_key(
    session: AsyncSession, table: sa.Table, prefix: str, presented: str | None
) -> sa.Row | None:
    """The live (not revoked) row of a clients ``table`` a presented key belongs to, or None."""
    parts = split_key(presented, prefix)
    if parts is None:
        return None
    key_id, secret = parts
    row = (
        await session.execute(
            sa.select(table).where(table.c.key_id == key_id, table.c.revoked_at.is_(None))
        )
    ).first()
    if row is None or not matches(secret, row.secret_hash):
        return None
    return row

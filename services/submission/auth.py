"""API keys of portal clients: created by a command, stored hashed, scoped to union subtrees.

A key reads ``skp_<key id>_<secret>``. Only a SHA-256 of the secret is stored: the secret is 256
random bits, so a slow password hash would add nothing but latency on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.store import api_clients
from shared.contracts.envelope import utc_now
from shared.reference.unions import UnionTree

PREFIX = "skp"


@dataclass(frozen=True)
class ApiClient:
    """An authenticated portal client and the union subtrees it may act for."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    can_see_contacts: bool

    def covers(self, tree: UnionTree, union_code: str) -> bool:
        """Whether ``union_code`` lies in one of the client's subtrees."""
        return any(tree.is_within(union_code, scope) for scope in self.scopes)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str],
    tree: UnionTree,
    can_see_contacts: bool = False,
) -> str:
    """Store a new client and return its key (shown once, never stored in clear)."""
    unknown = [code for code in scopes if code not in tree]
    if not scopes or unknown:
        raise ValueError(f"scopes must be known union codes; unknown: {unknown or 'none given'}")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    await session.execute(
        api_clients.insert().values(
            key_id=key_id,
            name=name,
            secret_hash=_digest(secret),
            scopes=sorted(set(scopes)),
            can_see_contacts=can_see_contacts,
            created_at=utc_now(),
        )
    )
    return f"{PREFIX}_{key_id}_{secret}"


async def authenticate(session: AsyncSession, presented: str | None) -> ApiClient | None:
    """The client a presented key belongs to, or None for a missing, wrong or revoked key."""
    if not presented:
        return None
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret:
        return None
    row = (
        await session.execute(
            sa.select(api_clients).where(
                api_clients.c.key_id == key_id, api_clients.c.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        return None
    return ApiClient(row.key_id, row.name, tuple(row.scopes), row.can_see_contacts)


class KeyCache:
    """Keys verified recently, so that a busy portal does not cost a query per request.

    A revoked key keeps working for at most ``ttl`` seconds in each process.
    """

    def __init__(self, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, ApiClient]] = {}

    def get(self, presented: str) -> ApiClient | None:
        """The client of a key verified less than ``ttl`` seconds ago."""
        entry = self._entries.get(presented)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, presented: str, client: ApiClient) -> None:
        """Remember a verified key."""
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[presented] = (time.monotonic() + self._ttl, client)

"""API keys of the subscriptions API (``skn_<key id>_<secret>``), scoped to union subtrees."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.store import api_clients
from shared.keys import find_key, store_key
from shared.reference.unions import UnionTree

PREFIX = "skn"


@dataclass(frozen=True)
class Client:
    """An authenticated client: who manages subscriptions for which subtrees."""

    key_id: str
    name: str
    scopes: tuple[str, ...]

    def covers(self, tree: UnionTree, union_code: str) -> bool:
        """Whether ``union_code`` lies in one of the client's subtrees."""
        return any(tree.is_within(union_code, scope) for scope in self.scopes)


async def create_client(
    session: AsyncSession, *, name: str, scopes: list[str], tree: UnionTree
) -> str:
    """Store a new client and return its key (shown once, never stored in clear)."""
    unknown = [code for code in scopes if code not in tree]
    if not scopes or unknown:
        raise ValueError(f"scopes must be known union codes; unknown: {unknown or 'none given'}")
    return await store_key(
        session,
        api_clients,
        PREFIX,
        name=name,
        scopes=sorted(set(scopes)),
    )


async def authenticate(session: AsyncSession, presented: str | None) -> Client | None:
    """The client a presented key belongs to, or None for a missing, wrong or revoked key."""
    row = await find_key(session, api_clients, PREFIX, presented)
    if row is None:
        return None
    return Client(row.key_id, row.name, tuple(row.scopes))

"""API keys of portal clients: created by a command, stored hashed, scoped to union subtrees.

A key files submissions in its subtrees; a reviewer's key (``can_review``: a grassroots support
team or a superior union) also records review decisions there.

A key reads ``skp_<key id>_<secret>`` (format and checks: ``shared.keys``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.store import api_clients
from shared.keys import find_key, store_key
from shared.reference.unions import UnionTree

PREFIX = "skp"


@dataclass(frozen=True)
class ApiClient:
    """An authenticated portal client and the union subtrees it may act for."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    can_see_contacts: bool
    can_review: bool = False

    def covers(self, tree: UnionTree, union_code: str) -> bool:
        """Whether ``union_code`` lies in one of the client's subtrees."""
        return any(tree.is_within(union_code, scope) for scope in self.scopes)

    def acting_union(self, tree: UnionTree, union_code: str) -> str | None:
        """The nearest of the client's unions at or above ``union_code``, or None."""
        covering = [scope for scope in self.scopes if tree.is_within(union_code, scope)]
        return max(covering, key=lambda scope: len(tree.path(scope)), default=None)


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str],
    tree: UnionTree,
    can_see_contacts: bool = False,
    can_review: bool = False,
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
        can_see_contacts=can_see_contacts,
        can_review=can_review,
    )


async def authenticate(session: AsyncSession, presented: str | None) -> ApiClient | None:
    """The client a presented key belongs to, or None for a missing, wrong or revoked key."""
    row = await find_key(session, api_clients, PREFIX, presented)
    if row is None:
        return None
    return ApiClient(row.key_id, row.name, tuple(row.scopes), row.can_see_contacts, row.can_review)

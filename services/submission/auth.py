"""API keys of portal clients: created by a command, stored hashed, scoped to union subtrees.

A key files submissions in its subtrees; a reviewer's key (``can_review``: a grassroots support
team or a superior union) also records review decisions there.

A key reads ``skp_<key id>_<secret>`` (format and checks: ``shared.keys``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.store import api_clients
from shared.keys import Keyring
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


def _client_of(row: sa.Row) -> ApiClient:
    return ApiClient(row.key_id, row.name, tuple(row.scopes), row.can_see_contacts, row.can_review)


def keyring() -> Keyring[ApiClient]:
    """The portal keys of this service's database."""
    return Keyring(api_clients, PREFIX, _client_of)


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str],
    tree: UnionTree,
    can_see_contacts: bool = False,
    can_review: bool = False,
    expires_at: datetime | None = None,
) -> str:
    """Store a new client and return its key (shown once, never stored in clear)."""
    return await keyring().create(
        session,
        name=name,
        scopes=scopes,
        tree=tree,
        expires_at=expires_at,
        can_see_contacts=can_see_contacts,
        can_review=can_review,
    )

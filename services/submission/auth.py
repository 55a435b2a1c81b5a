"""API keys of portal clients: created by a command, stored hashed, scoped to union subtrees.

A key files submissions in its subtrees; a reviewer's key (``can_review``: a grassroots support
team or a superior union) also records review decisions there; a union office's key
(``can_manage_reference``) changes the unions and targets below it (``reference_api``).

A key reads ``skp_<key id>_<secret>`` (format and checks: ``shared.keys``). A portal's client
may also name its broker user: its AMQP commands are then filed as this client, in its scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.store import api_clients
from shared.contracts.submission import PORTAL_PATTERN
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
    broker_user: str | None = None
    can_manage_reference: bool = False

    def covers(self, tree: UnionTree, union_code: str) -> bool:
        """Whether ``union_code`` lies in one of the client's subtrees."""
        return any(tree.is_within(union_code, scope) for scope in self.scopes)

    def acting_union(self, tree: UnionTree, union_code: str) -> str | None:
        """The nearest of the client's unions at or above ``union_code``, or None."""
        covering = [scope for scope in self.scopes if tree.is_within(union_code, scope)]
        return max(covering, key=lambda scope: len(tree.path(scope)), default=None)


def _client_of(row: sa.Row) -> ApiClient:
    return ApiClient(
        row.key_id,
        row.name,
        tuple(row.scopes),
        row.can_see_contacts,
        row.can_review,
        row.broker_user,
        row.can_manage_reference,
    )


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
    broker_user: str | None = None,
    can_manage_reference: bool = False,
) -> str:
    """Store a new client and return its key (shown once, never stored in clear); with
    ``broker_user``, that broker user's commands are filed as this client. ValueError for a
    name that cannot be a portal's or that a live client already has."""
    if broker_user is not None:
        await _free_broker_user(session, broker_user)
    return await keyring().create(
        session,
        name=name,
        scopes=scopes,
        tree=tree,
        expires_at=expires_at,
        can_see_contacts=can_see_contacts,
        can_review=can_review,
        broker_user=broker_user,
        can_manage_reference=can_manage_reference,
    )


async def _free_broker_user(session: AsyncSession, broker_user: str) -> None:
    if not re.fullmatch(PORTAL_PATTERN, broker_user):
        raise ValueError(
            f"broker user {broker_user!r}: a portal's user is lower-case letters, digits and '-'"
        )
    if holder := (await portal_clients(session, [broker_user])).get(broker_user):
        raise ValueError(f"broker user {broker_user!r} already files as key {holder.key_id}")
    # A revoked or expired client gives its broker user up to the new one.
    await session.execute(
        api_clients.update()
        .where(api_clients.c.broker_user == broker_user)
        .values(broker_user=None)
    )


async def portal_clients(
    session: AsyncSession, broker_users: Iterable[str]
) -> dict[str, ApiClient]:
    """The live clients (not revoked, not expired) of these broker users, by broker user."""
    rows = await session.execute(
        sa.select(api_clients).where(
            api_clients.c.broker_user.in_(list(broker_users)), keyring().live()
        )
    )
    return {row.broker_user: _client_of(row) for row in rows}

"""API keys of the subscriptions API (``skn_<key id>_<secret>``), scoped to union subtrees."""

from __future__ import annotations

from dataclasses import dataclass

from services.notify.store import api_clients
from shared.keys import Keyring
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


def keyring() -> Keyring[Client]:
    """The subscriptions API's keys of this service's database."""
    return Keyring(api_clients, PREFIX, lambda row: Client(row.key_id, row.name, tuple(row.scopes)))

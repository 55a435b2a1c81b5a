"""The union tree as of a date, worked out from the changes alone: the end-to-end and property
tests' oracle for effective-dated moves and merges (it shares no code with
``shared.reference.history``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from shared.contracts.reference import Change, UnionAdded, UnionMerged, UnionMoved
from shared.reference.unions import UnionTree


class DatedTree:
    """The tree as of a date, from the changes effective by then in version order; a merge
    moves the children the merged union has at its version."""

    def __init__(self, tree: UnionTree, changes: Sequence[Change]) -> None:
        self._tree = tree
        self._added: dict[str, str] = {}
        self._moves: list[tuple[str, str, date]] = []
        self._merges: dict[str, tuple[str, date]] = {}
        for change in changes:
            if isinstance(change, UnionAdded):
                self._added[change.code] = change.parent_code
            elif isinstance(change, UnionMoved):
                self._moves.append((change.code, change.parent_code, change.effective_on))
            elif isinstance(change, UnionMerged):
                candidates = {*self._tree.children(change.code), *self._added}
                candidates |= {code for code, _, _ in self._moves}
                for child in sorted(candidates):
                    if self._parent(child, None) == change.code:
                        self._moves.append((child, change.into_code, change.effective_on))
                self._merges[change.code] = (change.into_code, change.effective_on)

    def path(self, code: str, day: date | None) -> tuple[str, ...]:
        """Where a submission of ``code`` dated ``day`` counts (``None``: as of now)."""
        while code in self._merges and (day is None or self._merges[code][1] <= day):
            code = self._merges[code][0]
        path = [code]
        while (parent := self._parent(path[-1], day)) is not None:
            path.append(parent)
        return tuple(reversed(path))

    def _parent(self, code: str, day: date | None) -> str | None:
        found = self._added[code] if code in self._added else self._tree[code].parent_code
        for moved, parent, effective_on in self._moves:
            if moved == code and (day is None or effective_on <= day):
                found = parent
        return found

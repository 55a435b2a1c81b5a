"""Where a union's submissions count over time, once unions move and merge (pure).

The rule (``docs/design.md``, "Effective dating"): a move or a merge takes effect on a date. "As
filed", a submission counts where its union sat on the submission's local date, with the union
it had merged into by then. "As of now", every submission counts where its union sits now (with
the union it merged into, and so on). Both are functions of the submission's union and date and
of the history, never of the order anything arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.reference.unions import UnionTree

Path = tuple[str, ...]  # from the national union down to the union counted with


@dataclass(frozen=True, slots=True)
class Move:
    """A union below another parent from ``effective_on`` on (a merge moves the merged union's
    children too)."""

    union_code: str
    from_parent: str
    to_parent: str
    effective_on: date


@dataclass(frozen=True, slots=True)
class Merge:
    """A union merged into another from ``effective_on`` on."""

    union_code: str
    into_code: str
    effective_on: date


@dataclass(frozen=True)
class History:
    """Every move and merge, each union's moves in the order of their dates."""

    moves: tuple[Move, ...] = ()
    merges: tuple[Merge, ...] = ()


class Placing:
    """The paths a union's submissions count along, as of now and as filed on a date."""

    def __init__(self, tree: UnionTree, history: History) -> None:
        self._tree = tree
        self._moves: dict[str, list[Move]] = {}
        for move in history.moves:
            self._moves.setdefault(move.union_code, []).append(move)
        self._merges = {merge.union_code: merge for merge in history.merges}
        # The merged unions, and every union at or below one that moved.
        self._dated = set(self._merges)
        below = list(self._moves)
        while below:
            code = below.pop()
            if code not in self._dated:
                self._dated.add(code)
                below.extend(tree.children(code))

    def place(self, code: str, day: date) -> tuple[Path, Path]:
        """Where a submission of the union dated ``day`` counts: as of now, and as filed."""
        if not self.dated(code):
            path = self._tree.path(code)
            return path, path
        return self.now(code), self.filed(code, day)

    def now(self, code: str) -> Path:
        """Where the union's submissions count as of now."""
        merge = self._merges.get(code)
        while merge is not None:
            code = merge.into_code
            merge = self._merges.get(code)
        return self._tree.path(code)

    def filed(self, code: str, day: date) -> Path:
        """Where a submission of the union dated ``day`` counts as filed."""
        if not self.dated(code):
            return self._tree.path(code)
        merge = self._merges.get(code)
        while merge is not None and merge.effective_on <= day:
            code = merge.into_code
            merge = self._merges.get(code)
        path = [code]
        while (parent := self._parent_on(path[-1], day)) is not None:
            path.append(parent)
        return tuple(reversed(path))

    def dated(self, code: str) -> bool:
        """Whether where the union's submissions count as filed depends on their date (some
        union on its path moved, or it merged)."""
        return code in self._dated

    def dated_unions(self) -> frozenset[str]:
        """Every union whose place as filed depends on the date: the merged ones, and every
        union at or below one that moved."""
        return frozenset(self._dated)

    def _parent_on(self, code: str, day: date) -> str | None:
        for move in self._moves.get(code, ()):
            if move.effective_on > day:
                return move.from_parent
        return self._tree[code].parent_code

"""Importing a whole union tree: the changes that turn the current tree into the file's.

The file is first validated as a tree on its own (``unions.load_union_tree``: one root, known
parents, no cycle, known levels, no duplicate code); then compared with the current tree: unions
only in the file are added (parents first), unions whose name differs are renamed, open unions
missing from the file are closed (children first). A union that would move to another parent or
change level, a closed union that comes back, and a changed cluster are refused, all of them
named: those need a decision the file cannot carry (moving unions comes with effective dating).
"""

from __future__ import annotations

from pydantic import ValidationError

from shared.contracts.reference import Change, UnionAdded, UnionClosed, UnionRenamed
from shared.reference.changes import PARENT_LEVELS, ChangeRefused
from shared.reference.unions import UnionTree

SHOWN = 10


def tree_changes(current: UnionTree, wanted: UnionTree) -> list[Change]:
    """The changes from ``current`` to ``wanted``, in an order that applies; ChangeRefused
    naming every union the file would change in a way an import cannot."""
    problems = []
    for union in wanted:
        held = current.get(union.code)
        parent = wanted.get(union.parent_code) if union.parent_code else None
        if parent is not None and parent.level not in PARENT_LEVELS.get(union.level, frozenset()):
            problems.append(f"{union.code}: a {union.level} union below a {parent.level} one")
        if held is None:
            continue
        if held.closed:
            problems.append(f"{union.code}: closed, it cannot come back")
        elif held.parent_code != union.parent_code:
            problems.append(
                f"{union.code}: moves from {held.parent_code} to {union.parent_code} "
                "(moving unions is not an import's to do)"
            )
        if held.level != union.level:
            problems.append(f"{union.code}: level {held.level} becomes {union.level}")
        if (held.cluster or None) != (union.cluster or None):
            problems.append(f"{union.code}: cluster {held.cluster} becomes {union.cluster}")
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise ChangeRefused(
            f"{len(problems)} union(s) cannot be imported: " + "; ".join(problems[:SHOWN]) + more
        )
    new = sorted(
        (u for u in wanted if u.code not in current), key=lambda u: len(wanted.path(u.code))
    )
    gone = sorted(
        (u for u in current if not u.closed and u.code not in wanted),
        key=lambda u: -len(current.path(u.code)),
    )
    try:
        added: list[Change] = [
            UnionAdded(
                code=u.code,
                name=u.name,
                level=u.level,  # type: ignore[arg-type]  # checked by the tree's loader
                parent_code=u.parent_code or "",
                cluster=u.cluster,
            )
            for u in new
        ]
        renamed: list[Change] = [
            UnionRenamed(code=u.code, name=u.name)
            for u in wanted
            if (held := current.get(u.code)) is not None and held.name != u.name
        ]
    except ValidationError as invalid:
        raise ChangeRefused(f"a union of the file is invalid: {str(invalid)[:1000]}") from invalid
    closed: list[Change] = [UnionClosed(code=u.code) for u in gone]
    return [*added, *renamed, *closed]

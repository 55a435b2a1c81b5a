"""Changing reference data while the campaign runs (pure functions).

A change (``shared.contracts.reference``) is checked against the reference data it applies to
and gives the next version, or is refused with a reason. Every service holds the files' data as
version 0 and applies the changes in version order (``replay``): the same changes give the same
data everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from shared.contracts.reference import (
    Change,
    ReferenceChangedV1,
    TargetsSet,
    UnionAdded,
    UnionClosed,
    UnionRenamed,
)
from shared.reference.catalog import ReferenceData
from shared.reference.consistency import Finding, findings
from shared.reference.targets import PROGRAM_SCOPE, Target
from shared.reference.unions import Union, UnionTree

# Which level a union may sit below: the tree's four levels, a sector union under a province or
# a central sector.
PARENT_LEVELS: dict[str, frozenset[str]] = {
    "province": frozenset({"national"}),
    "central_sector": frozenset({"national"}),
    "district": frozenset({"province"}),
    "sector": frozenset({"province", "central_sector"}),
    "grassroots": frozenset({"district", "sector"}),
}


class ChangeRefused(ValueError):
    """A change that cannot apply to the current reference data; the message says why."""


def apply_change(reference: ReferenceData, change: Change) -> tuple[ReferenceData, list[Finding]]:
    """The reference data after ``change`` (its version one higher) and what it flags; raises
    ``ChangeRefused`` with the reason when the change cannot apply."""
    if isinstance(change, UnionAdded):
        tree = _added(reference.tree, change)
        return replace(reference, tree=tree, version=reference.version + 1), []
    if isinstance(change, UnionRenamed):
        union = _open_union(reference.tree, change.code)
        tree = _replaced(reference.tree, replace(union, name=change.name))
        return replace(reference, tree=tree, version=reference.version + 1), []
    if isinstance(change, UnionClosed):
        tree = _closed(reference.tree, change.code)
        return replace(reference, tree=tree, version=reference.version + 1), []
    return _targets_set(reference, change)


def replay(reference: ReferenceData, events: Iterable[ReferenceChangedV1]) -> ReferenceData:
    """``reference`` with the changes of ``events`` that follow its version applied in order,
    up to the first gap (a later version waits for the ones before it)."""
    for event in sorted(events, key=lambda e: e.version):
        if event.version <= reference.version:
            continue
        if event.version != reference.version + 1:
            break
        reference, _ = apply_change(reference, event.change)
    return reference


def _open_union(tree: UnionTree, code: str) -> Union:
    union = tree.get(code)
    if union is None:
        raise ChangeRefused(f"no union {code!r}")
    if union.closed:
        raise ChangeRefused(f"union {code!r} is closed")
    return union


def _added(tree: UnionTree, change: UnionAdded) -> UnionTree:
    if change.code in tree:
        raise ChangeRefused(f"union {change.code!r} exists already")
    parent = _open_union(tree, change.parent_code)
    if parent.level not in PARENT_LEVELS.get(change.level, frozenset()):
        raise ChangeRefused(f"a {change.level} union cannot sit below a {parent.level} union")
    union = Union(change.code, change.name, change.level, change.parent_code, change.cluster)
    return UnionTree([*tree, union])


def _replaced(tree: UnionTree, union: Union) -> UnionTree:
    return UnionTree(union if u.code == union.code else u for u in tree)


def _closed(tree: UnionTree, code: str) -> UnionTree:
    union = _open_union(tree, code)
    if union.parent_code is None:
        raise ChangeRefused("the national union cannot be closed")
    still_open = [c for c in tree.children(code) if not tree[c].closed]
    if still_open:
        raise ChangeRefused(
            f"union {code!r} still has {len(still_open)} open union(s) below it "
            f"(first {still_open[0]!r}): close or move them first"
        )
    return _replaced(tree, replace(union, closed=True))


def _targets_set(
    reference: ReferenceData, change: TargetsSet
) -> tuple[ReferenceData, list[Finding]]:
    union = _open_union(reference.tree, change.union_code)
    scopes = {PROGRAM_SCOPE, *(p.code for p in reference.program.phases)}
    targets = dict(reference.targets)
    for value in change.targets:
        if value.scope not in scopes:
            raise ChangeRefused(
                f"unknown scope {value.scope!r} (known: {', '.join(sorted(scopes))})"
            )
        targets[(union.code, value.scope)] = Target(
            union.code, value.scope, value.assigned, value.self_set
        )
    concerned = {union.code, union.parent_code}
    found = [
        f for f in findings(targets, reference.tree, reference.program) if f.union_code in concerned
    ]
    refused = [f.reason for f in found if f.severity == "refused"]
    if refused:
        raise ChangeRefused(f"targets of {union.code}: " + "; ".join(refused))
    changed = replace(reference, targets=targets, version=reference.version + 1)
    return changed, found

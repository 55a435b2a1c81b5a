"""Changing reference data while the campaign runs (pure functions).

A change (``shared.contracts.reference``) is checked against the reference data it applies to
and gives the next version, or is refused with a reason. Every service holds the files' data as
version 0 and applies the changes in version order (``replay``): the same changes give the same
data everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

from shared.contracts.reference import (
    Change,
    PhaseAdded,
    PhasesRedated,
    ReferenceChangedV1,
    TargetsSet,
    UnionAdded,
    UnionMerged,
    UnionMoved,
    UnionRenamed,
)
from shared.reference.calendar import Phase
from shared.reference.catalog import ReferenceData
from shared.reference.consistency import Finding, findings
from shared.reference.history import Merge, Move
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
    return apply_changes(reference, [change])


def apply_changes(
    reference: ReferenceData, changes: Sequence[Change]
) -> tuple[ReferenceData, list[Finding]]:
    """The reference data after ``changes`` in order (a version each) and what they flag; the
    tree is rebuilt once, however many unions change (an import adds thousands). Raises
    ``ChangeRefused``, naming the change when there are several."""
    draft = _Draft(reference)
    flags: list[Finding] = []
    for number, change in enumerate(changes, start=1):
        try:
            flags.extend(draft.apply(change))
        except ChangeRefused as refusal:
            where = f"change {number} of {len(changes)}: " if len(changes) > 1 else ""
            raise ChangeRefused(f"{where}{refusal}") from refusal
    return draft.result(reference.version + len(changes)), flags


def replay(reference: ReferenceData, events: Iterable[ReferenceChangedV1]) -> ReferenceData:
    """``reference`` with the changes of ``events`` that follow its version applied in order,
    up to the first gap (a later version waits for the ones before it)."""
    following: list[Change] = []
    for event in sorted(events, key=lambda e: e.version):
        if event.version <= reference.version + len(following):
            continue
        if event.version != reference.version + len(following) + 1:
            break
        following.append(event.change)
    if not following:
        return reference
    return apply_changes(reference, following)[0]


class _Draft:
    """Reference data being changed: the unions by code and their children, and the targets."""

    def __init__(self, reference: ReferenceData) -> None:
        self._reference = reference
        self._tree: UnionTree | None = reference.tree  # None once the unions changed
        self._unions: dict[str, Union] = {}
        self._children: dict[str, list[str]] = {}
        self._targets = reference.targets
        self._program = reference.program
        self._history = reference.history

    def apply(self, change: Change) -> list[Finding]:
        """Apply one change; what it flags."""
        if isinstance(change, TargetsSet):
            return self._set_targets(change)
        if isinstance(change, PhaseAdded):
            self._add_phase(change)
            return []
        if isinstance(change, PhasesRedated):
            self._redate_phases(change)
            return []
        unions = self._editable()
        if isinstance(change, UnionAdded):
            if change.code in unions:
                raise ChangeRefused(f"union {change.code!r} exists already")
            parent = self._open(change.parent_code)
            if parent.level not in PARENT_LEVELS.get(change.level, frozenset()):
                raise ChangeRefused(
                    f"a {change.level} union cannot sit below a {parent.level} union"
                )
            unions[change.code] = Union(
                change.code, change.name, change.level, change.parent_code, change.cluster
            )
            self._children.setdefault(change.parent_code, []).append(change.code)
        elif isinstance(change, UnionRenamed):
            unions[change.code] = replace(self._open(change.code), name=change.name)
        elif isinstance(change, UnionMoved):
            self._move_union(change)
        elif isinstance(change, UnionMerged):
            self._merge_union(change)
        else:
            union = self._open(change.code)
            if union.parent_code is None:
                raise ChangeRefused("the national union cannot be closed")
            still_open = [c for c in self._children.get(change.code, []) if not unions[c].closed]
            if still_open:
                raise ChangeRefused(
                    f"union {change.code!r} still has {len(still_open)} open union(s) below it "
                    f"(first {still_open[0]!r}): close or move them first"
                )
            unions[change.code] = replace(union, closed=True)
        return []

    def result(self, version: int) -> ReferenceData:
        """The changed reference data, at ``version``."""
        tree = self._tree if self._tree is not None else UnionTree(self._unions.values())
        return replace(
            self._reference,
            tree=tree,
            targets=self._targets,
            program=self._program,
            version=version,
            history=self._history,
        )

    def _editable(self) -> dict[str, Union]:
        if self._tree is not None:
            self._unions = {u.code: u for u in self._tree}
            self._children = {}
            for union in self._unions.values():
                if union.parent_code is not None:
                    self._children.setdefault(union.parent_code, []).append(union.code)
            self._tree = None
        return self._unions

    def _get(self, code: str) -> Union | None:
        return self._tree.get(code) if self._tree is not None else self._unions.get(code)

    def _open(self, code: str) -> Union:
        union = self._get(code)
        if union is None:
            raise ChangeRefused(f"no union {code!r}")
        if union.closed:
            raise ChangeRefused(f"union {code!r} is closed")
        return union

    def _move_union(self, change: UnionMoved) -> None:
        union = self._open(change.code)
        parent = self._open(change.parent_code)
        if union.parent_code is None:
            raise ChangeRefused("the national union cannot move")
        if parent.code == union.parent_code:
            raise ChangeRefused(f"union {union.code!r} sits below {parent.code!r} already")
        if parent.level not in PARENT_LEVELS[union.level]:
            raise ChangeRefused(f"a {union.level} union cannot sit below a {parent.level} union")
        self._reparent(union.code, parent.code, change.effective_on)

    def _merge_union(self, change: UnionMerged) -> None:
        union = self._open(change.code)
        into = self._open(change.into_code)
        if union.parent_code is None:
            raise ChangeRefused("the national union cannot merge")
        if into.code == union.code:
            raise ChangeRefused(f"union {union.code!r} cannot merge into itself")
        if into.level != union.level:
            raise ChangeRefused(
                f"a {union.level} union can only merge into another {union.level} union, "
                f"not a {into.level} one"
            )
        for child in list(self._children.get(union.code, [])):
            self._reparent(child, into.code, change.effective_on)
        self._unions[union.code] = replace(union, closed=True, merged_into=into.code)
        merge = Merge(union.code, into.code, change.effective_on)
        self._history = replace(self._history, merges=(*self._history.merges, merge))

    def _reparent(self, code: str, parent_code: str, effective_on: date) -> None:
        """Record ``code`` below ``parent_code`` from ``effective_on`` on."""
        union = self._unions[code]
        assert union.parent_code is not None
        moved = [m for m in self._history.moves if m.union_code == code]
        if moved and moved[-1].effective_on > effective_on:
            raise ChangeRefused(
                f"union {code!r} moved on {moved[-1].effective_on} already: a later move cannot "
                f"take effect before it ({effective_on})"
            )
        self._children[union.parent_code].remove(code)
        self._children.setdefault(parent_code, []).append(code)
        self._unions[code] = replace(union, parent_code=parent_code)
        move = Move(code, union.parent_code, parent_code, effective_on)
        self._history = replace(self._history, moves=(*self._history.moves, move))

    def _add_phase(self, change: PhaseAdded) -> None:
        program = self._program
        if program.phase(change.code) is not None or change.code == PROGRAM_SCOPE:
            raise ChangeRefused(f"the program has a scope {change.code!r} already")
        if change.starts_on <= program.ends_on:
            raise ChangeRefused(
                f"a phase added must start after the program's last day, {program.ends_on}"
            )
        if change.ends_on < change.starts_on:
            raise ChangeRefused(f"the phase ends on {change.ends_on}, before it starts")
        phase = Phase(
            change.code, change.name, change.starts_on, change.ends_on, change.national_target
        )
        self._program = replace(
            program,
            phases=(*program.phases, phase),
            national_target=program.national_target + change.national_target,
        )
        root = (self._tree or UnionTree(self._unions.values())).root.code
        targets = dict(self._targets)
        targets[(root, change.code)] = Target(root, change.code, change.national_target, None)
        whole = targets.get((root, PROGRAM_SCOPE))
        if whole is not None:
            grown = whole.self_set + change.national_target if whole.self_set else None
            targets[(root, PROGRAM_SCOPE)] = replace(
                whole, assigned=whole.assigned + change.national_target, self_set=grown
            )
        self._targets = targets

    def _redate_phases(self, change: PhasesRedated) -> None:
        program = self._program
        dates: dict[str, tuple[date, date]] = {}
        for new in change.phases:
            if program.phase(new.code) is None:
                known = ", ".join(p.code for p in program.phases)
                raise ChangeRefused(f"unknown phase {new.code!r} (known: {known})")
            if new.code in dates:
                raise ChangeRefused(f"phase {new.code!r} is given twice")
            if new.ends_on < new.starts_on:
                raise ChangeRefused(f"phase {new.code!r} ends on {new.ends_on}, before it starts")
            dates[new.code] = (new.starts_on, new.ends_on)
        phases = sorted(
            (
                replace(p, starts_on=dates[p.code][0], ends_on=dates[p.code][1])
                if p.code in dates
                else p
                for p in program.phases
            ),
            key=lambda p: p.starts_on,
        )
        for earlier, later in pairwise(phases):
            if later.starts_on <= earlier.ends_on:
                raise ChangeRefused(
                    f"phases {earlier.code!r} and {later.code!r} would overlap on {later.starts_on}"
                )
        redated = replace(program, phases=tuple(phases))
        for phase in program.phases:
            day = phase.starts_on
            while day <= phase.ends_on:
                if redated.phase_on(day) is None:
                    raise ChangeRefused(
                        f"{day} would fall outside every phase (submissions may be dated on it)"
                    )
                day += timedelta(days=1)
        self._program = redated

    def _set_targets(self, change: TargetsSet) -> list[Finding]:
        union = self._open(change.union_code)
        program = self._program
        scopes = {PROGRAM_SCOPE, *(p.code for p in program.phases)}
        targets = dict(self._targets)
        for value in change.targets:
            if value.scope not in scopes:
                known = ", ".join(sorted(scopes))
                raise ChangeRefused(f"unknown scope {value.scope!r} (known: {known})")
            if value.self_set is not None and value.self_set < value.assigned:
                raise ChangeRefused(
                    f"the self-set target {value.self_set:,} of {value.scope} is below the "
                    f"assigned {value.assigned:,}"
                )
            targets[(union.code, value.scope)] = Target(
                union.code, value.scope, value.assigned, value.self_set
            )
        tree = self._tree if self._tree is not None else UnionTree(self._unions.values())
        concerned = {union.code, union.parent_code}
        found = [f for f in findings(targets, tree, program) if f.union_code in concerned]
        refused = [f.reason for f in found if f.severity == "refused"]
        if refused:
            raise ChangeRefused(f"targets of {union.code}: " + "; ".join(refused))
        self._targets = targets
        return found

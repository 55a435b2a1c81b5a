"""Targets that agree with each other (pure rules, ``docs/design.md`` "Targets that agree").

Two rules, checked on every load and every change:

- **A union's phases against its program** (refused): the assigned phase targets of a union add
  up to its assigned program target when every phase has one, and to no more than it otherwise
  (a phase added later is given its targets later, with the program's). A province with a
  program target of 2,300 and phase targets of 3,249 and 7,581 would read 120 % of its program
  and a few percent of each phase.
- **What a union assigns below against its own** (flagged, not refused): the targets a union has
  assigned to its children for a scope (those children that have one) add up to at least its
  own effective target; otherwise reaching every child's target would not reach its own. A union
  that has assigned none for the scope is not judged; one that is still assigning, or knowingly
  keeps part of its target, is reported, not refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from shared.reference.calendar import Program
from shared.reference.targets import PROGRAM_SCOPE, Target
from shared.reference.unions import UnionTree

Severity = Literal["refused", "flagged"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement: which union and scope, how serious, and why, in words."""

    union_code: str
    scope: str
    severity: Severity
    reason: str


def phase_findings(targets: Mapping[tuple[str, str], Target], program: Program) -> list[Finding]:
    """Unions whose assigned phase targets disagree with their assigned program target."""
    phases = [phase.code for phase in program.phases]
    findings = []
    for (code, scope), whole in sorted(targets.items()):
        if scope != PROGRAM_SCOPE:
            continue
        given = {p: targets[(code, p)].assigned for p in phases if (code, p) in targets}
        if not given:
            continue
        total, missing = sum(given.values()), len(phases) - len(given)
        parts = " + ".join(f"{p} {value:,}" for p, value in given.items())
        if missing == 0 and total != whole.assigned:
            findings.append(
                Finding(
                    code,
                    PROGRAM_SCOPE,
                    "refused",
                    f"phase targets {parts} = {total:,} differ from the program target "
                    f"{whole.assigned:,}",
                )
            )
        elif missing and total > whole.assigned:
            findings.append(
                Finding(
                    code,
                    PROGRAM_SCOPE,
                    "refused",
                    f"phase targets {parts} = {total:,} exceed the program target "
                    f"{whole.assigned:,}",
                )
            )
    return findings


def assignment_findings(
    targets: Mapping[tuple[str, str], Target], tree: UnionTree
) -> list[Finding]:
    """Unions whose children's assigned targets add up to less than their own effective one."""
    below: dict[tuple[str, str], int] = defaultdict(int)
    children_with: dict[tuple[str, str], int] = defaultdict(int)
    for (code, scope), target in targets.items():
        union = tree.get(code)
        if union is None or union.parent_code is None:
            continue
        below[(union.parent_code, scope)] += target.assigned
        children_with[(union.parent_code, scope)] += 1
    findings = []
    for (code, scope), assigned in sorted(below.items()):
        own = targets.get((code, scope))
        if own is not None and assigned < own.effective:
            findings.append(
                Finding(
                    code,
                    scope,
                    "flagged",
                    f"the targets assigned to {children_with[(code, scope)]} of its unions add "
                    f"up to {assigned:,}, below its own {own.effective:,}",
                )
            )
    return findings


def findings(
    targets: Mapping[tuple[str, str], Target], tree: UnionTree, program: Program
) -> list[Finding]:
    """Every disagreement among ``targets``: refused ones first."""
    return [*phase_findings(targets, program), *assignment_findings(targets, tree)]

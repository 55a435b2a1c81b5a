"""All reference data of one deployment, loaded together from the reference folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import structlog

from shared.reference import ReferenceDataError
from shared.reference.calendar import Program, load_program
from shared.reference.consistency import findings
from shared.reference.history import History, Placing
from shared.reference.milestones import Rule, load_rules
from shared.reference.targets import Target, load_targets
from shared.reference.unions import UnionTree, load_union_tree

UNION_FILES = ("unions_top.csv", "unions_lower.csv.gz")
TARGET_FILES = ("targets_known.csv", "targets_generated.csv")
PROGRAM_FILE = "program.yaml"
RULES_FILE = "milestones.yaml"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReferenceData:
    """The union tree, the program calendar, the targets and the milestone rules, at a
    version: the files are version 0, each change applied since adds one
    (``shared.reference.changes``)."""

    tree: UnionTree
    program: Program
    targets: dict[tuple[str, str], Target]
    milestone_rules: tuple[Rule, ...] = ()
    version: int = 0
    history: History = field(default_factory=History)

    @cached_property
    def placing(self) -> Placing:
        """Where each union's submissions count, as of now and as filed
        (``shared.reference.history``)."""
        return Placing(self.tree, self.history)


def load_reference(folder: Path) -> ReferenceData:
    """Load and validate every reference file in ``folder`` (missing optional files are
    skipped). Targets that disagree (``shared.reference.consistency``) are refused, or logged
    when they are only flagged."""
    tree = load_union_tree(p for name in UNION_FILES if (p := folder / name).exists())
    program = load_program(folder / PROGRAM_FILE)
    targets = load_targets(
        (p for name in TARGET_FILES if (p := folder / name).exists()), tree, program
    )
    for finding in findings(targets, tree, program):
        where = f"{folder}: targets of {finding.union_code} ({finding.scope})"
        if finding.severity == "refused":
            raise ReferenceDataError(f"{where}: {finding.reason}")
        log.warning(
            "targets_flagged",
            union_code=finding.union_code,
            scope=finding.scope,
            reason=finding.reason,
        )
    rules = load_rules(folder / RULES_FILE) if (folder / RULES_FILE).exists() else ()
    return ReferenceData(tree=tree, program=program, targets=targets, milestone_rules=rules)

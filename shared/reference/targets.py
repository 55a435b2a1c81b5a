"""Targets (chỉ tiêu) per union, per phase or for the whole program: assigned and self-set."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shared.reference import ReferenceDataError
from shared.reference.calendar import Program
from shared.reference.unions import UnionTree

PROGRAM_SCOPE = "program"


@dataclass(frozen=True, slots=True)
class Target:
    """A union's target for a scope; ``self_set`` is a higher goal the union chose itself."""

    union_code: str
    scope: str
    assigned: int
    self_set: int | None

    @property
    def effective(self) -> int:
        """The figure progress is measured against: the self-set target when there is one."""
        return self.self_set or self.assigned


def load_targets(
    paths: Iterable[Path], tree: UnionTree, program: Program
) -> dict[tuple[str, str], Target]:
    """Targets by (union code, scope); unknown unions or scopes and duplicates are errors."""
    scopes = {PROGRAM_SCOPE, *(p.code for p in program.phases)}
    targets: dict[tuple[str, str], Target] = {}
    for path in paths:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                line = reader.line_num
                try:
                    target = Target(
                        union_code=row["union_code"].strip(),
                        scope=row["scope"].strip(),
                        assigned=int(row["assigned"]),
                        self_set=int(row["self_set"])
                        if (row.get("self_set") or "").strip()
                        else None,
                    )
                except (KeyError, ValueError, AttributeError) as exc:
                    raise ReferenceDataError(f"{path}:{line}: malformed target row: {exc}") from exc
                where = f"{path}:{line}"
                if target.union_code not in tree:
                    raise ReferenceDataError(f"{where}: unknown union {target.union_code!r}")
                if target.scope not in scopes:
                    raise ReferenceDataError(f"{where}: unknown scope {target.scope!r}")
                if target.assigned <= 0:
                    raise ReferenceDataError(f"{where}: assigned target must be positive")
                if target.self_set is not None and target.self_set < target.assigned:
                    raise ReferenceDataError(f"{where}: self-set target below the assigned one")
                key = (target.union_code, target.scope)
                if key in targets:
                    raise ReferenceDataError(f"{where}: duplicate target for {key}")
                targets[key] = target
    return targets

"""Milestone rules (``milestones.yaml`` of the reference data), and the counted total at which
each rule is reached.

Notify decides with them which milestones a union reached; aggregation uses the same rules to
date each threshold a snapshot has passed (``progress.updated.v1``'s ``crossings``), so that a
milestone is dated by the day its threshold was crossed, by event time, whatever the arrival
order (``docs/design.md``, "Semantics").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.contracts.milestone import MilestoneKind
from shared.reference.targets import PROGRAM_SCOPE
from shared.reference.unions import LEVELS


class RulesError(ValueError):
    """The rules file is malformed; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One milestone rule."""

    id: str
    kind: MilestoneKind
    threshold: int  # percent of target, or a national count; 100 for target reached
    levels: frozenset[str]

    def applies(self, level: str, scope: str) -> bool:
        """Whether the rule speaks of a union of ``level`` for ``scope``."""
        if level not in self.levels:
            return False
        return self.kind is not MilestoneKind.NATIONAL_COUNT or scope == PROGRAM_SCOPE

    def count(self, target: int | None) -> int | None:
        """The counted total at which the rule is reached (None: it needs a target and there
        is none)."""
        if self.kind is MilestoneKind.NATIONAL_COUNT:
            return self.threshold
        if target is None:
            return None
        if self.kind is MilestoneKind.TARGET_REACHED:
            return target
        return math.ceil(self.threshold * target / 100)


def counts_to_date(rules: Iterable[Rule], level: str, scope: str, target: int | None) -> set[int]:
    """The counted totals whose crossing dates a union's snapshot for ``scope`` carries."""
    return {
        count
        for rule in rules
        if rule.applies(level, scope) and (count := rule.count(target)) is not None
    }


def load_rules(path: Path) -> tuple[Rule, ...]:
    """Read and check the rules file (unique ids, known levels, positive thresholds)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rules = [
            *(
                Rule(r["id"], MilestoneKind.PERCENT_OF_TARGET, int(r["percent"]), _levels(r))
                for r in data.get("percent_of_target", [])
            ),
            *(
                Rule(
                    r["id"], MilestoneKind.NATIONAL_COUNT, int(r["count"]), frozenset({"national"})
                )
                for r in data.get("national_counts", [])
            ),
            *(
                Rule(r["id"], MilestoneKind.TARGET_REACHED, 100, _levels(r))
                for r in data.get("target_reached", [])
            ),
        ]
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: malformed rule: {exc!r}") from exc
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulesError(f"{path}: duplicate rule id {rule.id!r}")
        if rule.threshold <= 0:
            raise RulesError(f"{path}: rule {rule.id!r} needs a positive threshold")
        if unknown := rule.levels - set(LEVELS):
            raise RulesError(f"{path}: rule {rule.id!r} names unknown levels {sorted(unknown)}")
        seen.add(rule.id)
    return tuple(rules)


def _levels(row: dict[str, object]) -> frozenset[str]:
    levels = row.get("levels", LEVELS)
    if not isinstance(levels, list | tuple):
        raise ValueError(f"levels of {row.get('id')!r} must be a list")
    return frozenset(str(level) for level in levels)

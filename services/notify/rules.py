"""Milestone rules (pure): which milestones a progress snapshot shows reached.

A milestone is identified by (program, scope, union, rule): its id is derived from them, so the
same milestone has the same id however many snapshots show it, in whatever order they arrive, and
across restarts. Evaluation looks only at the snapshot's cumulative figures (never at the
previous snapshot), so a snapshot that jumps over several thresholds reaches them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from shared.contracts.envelope import derived_message_id
from shared.contracts.milestone import MilestoneKind
from shared.contracts.progress import ProgressUpdatedV1
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


@dataclass(frozen=True, slots=True)
class Reached:
    """A milestone a snapshot shows reached."""

    milestone_id: str
    rule: Rule
    counted: int
    target: int | None
    reached_on: date
    days_ahead: int | None


def milestone_id(program: str, scope: str, union_code: str, rule_id: str) -> str:
    """The stable id of a milestone."""
    return derived_message_id("milestone", program, scope, union_code, rule_id)


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


def reached(snapshot: ProgressUpdatedV1, rules: tuple[Rule, ...]) -> list[Reached]:
    """The milestones ``snapshot`` shows reached (whether or not they fired before)."""
    counted, target = snapshot.subtree.counted, snapshot.target
    found = []
    for rule in rules:
        if snapshot.level not in rule.levels:
            continue
        if rule.kind is MilestoneKind.NATIONAL_COUNT:
            hit = snapshot.scope == PROGRAM_SCOPE and counted >= rule.threshold
        elif rule.kind is MilestoneKind.TARGET_REACHED:
            hit = snapshot.reached_on is not None
        else:
            hit = target is not None and counted * 100 >= rule.threshold * target
        if hit:
            is_target = rule.kind is MilestoneKind.TARGET_REACHED
            found.append(
                Reached(
                    milestone_id=milestone_id(
                        snapshot.program, snapshot.scope, snapshot.union_code, rule.id
                    ),
                    rule=rule,
                    counted=counted,
                    target=target,
                    # The day is exact for a reached target (from aggregation's daily buckets);
                    # for other thresholds it is the latest date of the snapshot that showed it.
                    reached_on=snapshot.reached_on
                    if is_target and snapshot.reached_on
                    else snapshot.as_of,
                    days_ahead=snapshot.days_ahead if is_target else None,
                )
            )
    return found

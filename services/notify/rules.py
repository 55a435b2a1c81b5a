"""Milestone rules applied to a snapshot (pure): where a union stands against each rule.

A milestone is identified by (program, scope, union, rule): its id is derived from them, so the
same milestone has the same id however many snapshots show it, in whatever order they arrive, and
across restarts. Evaluation looks only at the snapshot's cumulative figures and crossing dates
(never at the previous snapshot), so a snapshot that jumps over several thresholds reaches them
all at once, each with the day it was crossed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.contracts.envelope import derived_message_id
from shared.contracts.milestone import MilestoneKind
from shared.contracts.progress import ProgressUpdatedV1
from shared.reference.milestones import Rule


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a union stands against one rule, as a snapshot shows it: reached (on
    ``reached_on``) or not (``reached_on`` is None)."""

    milestone_id: str
    rule: Rule
    counted: int
    target: int | None
    reached_on: date | None
    days_ahead: int | None


def milestone_id(program: str, scope: str, union_code: str, rule_id: str) -> str:
    """The stable id of a milestone."""
    return derived_message_id("milestone", program, scope, union_code, rule_id)


def standings(snapshot: ProgressUpdatedV1, rules: tuple[Rule, ...]) -> list[Standing]:
    """Where the snapshot's union stands against every rule that speaks of it.

    A rule is reached when the subtree's counted total is at or above the rule's count; its day
    is the snapshot's crossing date for that count (by event time, from aggregation's daily
    buckets), whatever order the submissions arrived in. A snapshot without crossings (from an
    older aggregation) is dated by its ``reached_on`` for a target, else by its latest date.
    """
    counted, target = snapshot.subtree.counted, snapshot.target
    found = []
    for rule in rules:
        if not rule.applies(snapshot.level, snapshot.scope):
            continue
        count = rule.count(target)
        if count is None:
            continue
        is_target = rule.kind is MilestoneKind.TARGET_REACHED
        day = None
        if counted >= count:
            day = snapshot.crossed_on(count) or (
                snapshot.reached_on if is_target and snapshot.reached_on else snapshot.as_of
            )
        found.append(
            Standing(
                milestone_id=milestone_id(
                    snapshot.program, snapshot.scope, snapshot.union_code, rule.id
                ),
                rule=rule,
                counted=counted,
                target=target,
                reached_on=day,
                days_ahead=snapshot.days_ahead if is_target and day is not None else None,
            )
        )
    return found


def reached(snapshot: ProgressUpdatedV1, rules: tuple[Rule, ...]) -> list[Standing]:
    """The milestones ``snapshot`` shows reached (whether or not they fired before)."""
    return [s for s in standings(snapshot, rules) if s.reached_on is not None]

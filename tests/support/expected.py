"""What a simulated campaign must produce, worked out from what the simulator sent alone.

This is the end-to-end tests' oracle: it reads the counting rules of ``docs/design.md`` and the
milestone rules file directly and shares no code with the services (only the reference data and
the simulator).
"""

from __future__ import annotations

import csv
import math
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from pipeline.campaign import Filed
from shared.reference.calendar import LOCAL_ZONE
from shared.reference.catalog import ReferenceData
from shared.settings import REPO_ROOT
from tests.support.history import DatedTree

PROGRAM = "program"
KNOWN_TARGETS = "targets_known.csv"  # the generated targets are left out: only these and ours
FIGURES = ("received", "counted", "flagged", "excluded", "benefit_vnd")


@dataclass(frozen=True)
class Campaign:
    """Expected figures per (union, scope) and milestones as (union, scope, rule id)."""

    figures: dict[tuple[str, str], Counter[str]]
    exact: set[str]  # client keys of exact duplicates (verbatim or in form only)
    near: set[str]  # client keys of near copies
    original: dict[str, str]  # client key of any copy → client key of its original
    as_filed: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)


def level_of(reference: ReferenceData, code: str) -> str:
    """The level of a union of the tree."""
    union = reference.tree.get(code)
    assert union is not None, code
    return union.level


def local_date_of(filed: Filed) -> date:
    """A submission's local date."""
    return datetime.fromisoformat(filed.draft["submitted_at"]).astimezone(LOCAL_ZONE).date()


def scope_of(filed: Filed, reference: ReferenceData) -> str:
    """The phase a submission falls in, by its local date."""
    phase = reference.program.phase_on(local_date_of(filed))
    assert phase is not None
    return phase.code


def expected_campaign(
    filed: list[Filed],
    reference: ReferenceData,
    verdicts: dict[str, str] | None = None,
    history: DatedTree | None = None,
) -> Campaign:
    """Every union's figures after ``filed``, nobody having reviewed anything: with the copies
    the simulator injected as dedup's verdicts, or with ``verdicts`` (client key → verdict).
    With a ``history`` of moves and merges, as of now and as filed; else both on the tree."""
    figures: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    as_filed: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for item in filed:
        if verdicts is None:
            counted = not item.exact_duplicate
            flagged = item.copy_of is not None and counted
        else:
            counted = verdicts[item.client_key] != "exact_duplicate"
            flagged = verdicts[item.client_key] == "near_duplicate"
        add = Counter(
            received=1,
            counted=int(counted),
            flagged=int(flagged),
            excluded=int(not counted),
            benefit_vnd=item.draft["benefit_vnd"] if counted else 0,
        )
        code = item.draft["union_code"]
        now = history.path(code, None) if history else reference.tree.path(code)
        then = history.path(code, local_date_of(item)) if history else now
        for scope in (PROGRAM, scope_of(item, reference)):
            for union in now:
                figures[(union, scope)].update(add)
            for union in then:
                as_filed[(union, scope)].update(add)
    return Campaign(
        dict(figures),
        exact={f.client_key for f in filed if f.exact_duplicate},
        near={f.client_key for f in filed if f.copy_of and not f.exact_duplicate},
        original={f.client_key: f.copy_of for f in filed if f.copy_of},
        as_filed=dict(as_filed),
    )


def expected_milestones(
    campaign: Campaign, reference: ReferenceData, rules: dict[str, Any]
) -> set[tuple[str, str, str]]:
    """(union, scope, rule id) of every milestone the final counts reach."""
    reached = set()
    for (union, scope), goal in reference.targets.items():
        target = goal.self_set or goal.assigned
        counted = campaign.figures.get((union, scope), Counter())["counted"]
        level = level_of(reference, union)
        for rule in rules.get("percent_of_target", []):
            if level in rule["levels"] and counted * 100 >= rule["percent"] * target:
                reached.add((union, scope, rule["id"]))
        for rule in rules.get("target_reached", []):
            if level in rule["levels"] and counted >= target:
                reached.add((union, scope, rule["id"]))
    national = campaign.figures.get(("vn", PROGRAM), Counter())["counted"]
    for rule in rules.get("national_counts", []):
        if national >= rule["count"]:
            reached.add(("vn", PROGRAM, rule["id"]))
    return reached


def small_targets(
    campaign: Campaign, reference: ReferenceData, unions: int
) -> dict[tuple[str, str], int]:
    """Targets the campaign overshoots by about 60 %: whole-program targets for the provinces
    and districts with the most submissions (but those with a known target), and a phase target
    for the first of them."""
    with (REPO_ROOT / "reference" / KNOWN_TARGETS).open() as known_file:
        known = {row["union_code"] for row in csv.DictReader(known_file)}
    chosen: dict[tuple[str, str], int] = {}
    for level in ("province", "district"):
        ranked = sorted(
            (
                (figures["counted"], union)
                for (union, scope), figures in campaign.figures.items()
                if scope == PROGRAM and level_of(reference, union) == level and union not in known
            ),
            reverse=True,
        )
        for counted, union in ranked[:unions]:
            chosen[(union, PROGRAM)] = max(1, math.floor(counted / 1.6))
    leader = next(iter(chosen))[0]
    phase_counted = campaign.figures[(leader, "phase-2")]["counted"]
    chosen[(leader, "phase-2")] = max(1, math.floor(phase_counted / 1.6))
    return chosen


def write_reference(
    folder: Path, targets: dict[tuple[str, str], int], national_counts: list[int]
) -> dict[str, Any]:
    """A reference folder: the repository's tree and calendar, these targets (and the national
    ones), milestone rules whose national counts are ``national_counts``; returns the rules."""
    folder.mkdir(parents=True, exist_ok=True)
    source = REPO_ROOT / "reference"
    for name in ("unions_top.csv", "unions_lower.csv.gz", "program.yaml"):
        (folder / name).symlink_to(source / name)
    shutil.copy(source / KNOWN_TARGETS, folder / KNOWN_TARGETS)
    with (folder / KNOWN_TARGETS).open("a", newline="") as out:
        writer = csv.writer(out)
        for (union, scope), target in targets.items():
            writer.writerow([union, scope, target, ""])
    rules = yaml.safe_load((source / "milestones.yaml").read_text())
    rules["national_counts"] = [{"id": f"national-{n}", "count": n} for n in national_counts]
    (folder / "milestones.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    return rules

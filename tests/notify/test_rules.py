"""Milestone rules, without a broker: which milestones a snapshot shows, with stable ids."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.notify.rules import milestone_id, reached, standings
from shared.contracts.envelope import utc_now
from shared.contracts.milestone import MilestoneKind
from shared.contracts.progress import Crossing, Figures, ProgressUpdatedV1
from shared.reference.milestones import RulesError, counts_to_date, load_rules
from shared.settings import REPO_ROOT

RULES = load_rules(REPO_ROOT / "reference" / "milestones.yaml")


def snapshot(union: str, level: str, scope: str, counted: int, **extra: Any) -> ProgressUpdatedV1:
    figures = Figures(
        received=counted, counted=counted, flagged=0, excluded=0, benefit_vnd=0, distinct_authors=1
    )
    return ProgressUpdatedV1(
        message_id=f"{union}-{scope}-{counted}",
        correlation_id="c",
        occurred_at=utc_now(),
        union_code=union,
        level=level,
        program="mot-trieu-sang-kien",
        scope=scope,
        revision=1,
        as_of=date(2022, 3, 1),
        subtree=figures,
        own=figures,
        **extra,
    )


def test_each_milestone_is_dated_by_the_crossing_of_its_own_threshold() -> None:
    crossings = [
        Crossing(counted=1150, reached_on=date(2022, 5, 2)),
        Crossing(counted=1725, reached_on=date(2022, 9, 20)),
    ]
    found = reached(
        snapshot("ldld-lai-chau", "province", "program", 1800, target=2300, crossings=crossings),
        RULES,
    )
    assert {m.rule.id: m.reached_on for m in found} == {
        "percent-50": date(2022, 5, 2),
        "percent-75": date(2022, 9, 20),
    }


def test_the_counts_to_date_are_each_rules_count_for_the_union_and_scope() -> None:
    assert counts_to_date(RULES, "province", "program", 2300) == {1150, 1725, 2300, 3450, 4600}
    assert counts_to_date(RULES, "province", "phase-1", None) == set()
    national = counts_to_date(RULES, "national", "program", None)
    assert {100_000, 1_000_000, 2_000_000} <= national


def test_below_a_threshold_a_union_stands_unreached() -> None:
    found = standings(snapshot("ldld-lai-chau", "province", "program", 1000, target=2300), RULES)
    assert {s.rule.id for s in found} >= {"percent-50", "target-reached"}
    assert all(s.reached_on is None for s in found)


def test_a_jump_over_several_thresholds_reaches_each_of_them() -> None:
    found = reached(snapshot("ldld-lai-chau", "province", "program", 1800, target=2300), RULES)
    assert {m.rule.id for m in found} == {"percent-50", "percent-75"}
    assert all(m.reached_on == date(2022, 3, 1) and m.target == 2300 for m in found)


def test_target_reached_carries_the_day_and_days_ahead() -> None:
    found = reached(
        snapshot(
            "ldld-lai-chau",
            "province",
            "program",
            2779,
            target=2300,
            reached_on=date(2022, 12, 10),
            days_ahead=265,
        ),
        RULES,
    )
    target = next(m for m in found if m.rule.kind is MilestoneKind.TARGET_REACHED)
    assert (target.reached_on, target.days_ahead) == (date(2022, 12, 10), 265)
    assert {m.rule.id for m in found} == {"percent-50", "percent-75", "target-reached"}


def test_national_counts_only_for_the_national_node_and_the_whole_program() -> None:
    national = reached(snapshot("vn", "national", "program", 1_000_000, target=1_000_000), RULES)
    assert {m.rule.id for m in national} >= {"national-100k", "national-300k", "national-1m"}
    assert "national-2m" not in {m.rule.id for m in national}
    phase = reached(snapshot("vn", "national", "phase-1", 500_000), RULES)
    assert phase == []  # no target given, and national counts are program-wide
    grassroots = reached(snapshot("x.cs1", "grassroots", "program", 10**6), RULES)
    assert grassroots == []


def test_a_milestone_id_depends_only_on_program_scope_union_and_rule() -> None:
    first = reached(snapshot("vn", "national", "program", 150_000), RULES)
    later = reached(snapshot("vn", "national", "program", 350_000), RULES)
    ids = {m.rule.id: m.milestone_id for m in first}
    assert {m.rule.id: m.milestone_id for m in later}["national-100k"] == ids["national-100k"]
    assert ids["national-100k"] == milestone_id(
        "mot-trieu-sang-kien", "program", "vn", "national-100k"
    )
    assert milestone_id("p", "phase-1", "vn", "r") != milestone_id("p", "phase-2", "vn", "r")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("national_counts: [{id: a, count: 1}, {id: a, count: 2}]", "duplicate rule id 'a'"),
        ("percent_of_target: [{id: p, percent: 0}]", "needs a positive threshold"),
        ("target_reached: [{id: t, levels: [county]}]", "unknown levels ['county']"),
        ("percent_of_target: [{percent: 50}]", "malformed rule"),
    ],
)
def test_bad_rules_files_are_refused_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError, match=re.escape(message)):
        load_rules(path)

"""Targets that agree: a union's phases against its program (refused), what it assigns below
against its own (flagged); the generator shares targets exactly; the committed files agree."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.reference import ReferenceDataError
from shared.reference.calendar import Phase, Program
from shared.reference.catalog import load_reference
from shared.reference.consistency import assignment_findings, findings, phase_findings
from shared.reference.generate import apportion
from shared.reference.targets import Target
from shared.reference.unions import Union, UnionTree
from shared.settings import REPO_ROOT

REFERENCE = REPO_ROOT / "reference"
PROGRAM = Program(
    "p",
    "P",
    1000,
    (
        Phase("phase-1", "1", date(2021, 9, 1), date(2022, 5, 31), 300),
        Phase("phase-2", "2", date(2022, 6, 1), date(2023, 9, 1), 700),
    ),
)
TREE = UnionTree(
    [
        Union("vn", "N", "national", None, None),
        Union("a", "A", "province", "vn", None),
        Union("b", "B", "province", "vn", None),
    ]
)


def targets(
    *rows: tuple[str, str, int] | tuple[str, str, int, int],
) -> dict[tuple[str, str], Target]:
    made = {}
    for row in rows:
        code, scope, assigned = row[:3]
        self_set = row[3] if len(row) == 4 else None
        made[(code, scope)] = Target(code, scope, assigned, self_set)
    return made


def test_the_committed_targets_agree_with_each_other() -> None:
    reference = load_reference(REFERENCE)
    assert findings(reference.targets, reference.tree, reference.program) == []
    lai_chau = {
        s: reference.targets[("ldld-lai-chau", s)].assigned
        for s in ("program", "phase-1", "phase-2")
    }
    assert lai_chau["phase-1"] + lai_chau["phase-2"] == lai_chau["program"] == 2300
    districts = [
        reference.targets[(code, "program")].assigned
        for code in reference.tree.children("ldld-lai-chau")
        if (code, "program") in reference.targets
    ]
    assert sum(districts) == 2300


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            [("a", "program", 2300), ("a", "phase-1", 3249), ("a", "phase-2", 7581)],
            "phase targets phase-1 3,249 + phase-2 7,581 = 10,830 differ from the program target"
            " 2,300",
        ),
        (
            [("a", "program", 2300), ("a", "phase-1", 2301)],
            "phase targets phase-1 2,301 = 2,301 exceed the program target 2,300",
        ),
    ],
)
def test_phases_that_disagree_with_their_program_are_refused(
    rows: list[tuple[str, str, int]], reason: str
) -> None:
    [finding] = phase_findings(targets(*rows), PROGRAM)
    assert (finding.union_code, finding.severity) == ("a", "refused")
    assert reason in finding.reason


def test_phases_that_add_up_or_leave_room_pass() -> None:
    agreeing = targets(
        ("a", "program", 2300),
        ("a", "phase-1", 690),
        ("a", "phase-2", 1610),
        ("b", "program", 500),
        ("b", "phase-1", 499),
    )
    assert phase_findings(agreeing, PROGRAM) == []


def test_children_assigned_less_than_their_parents_own_target_are_flagged() -> None:
    under = targets(("vn", "program", 1000, 1200), ("a", "program", 600), ("b", "program", 500))
    [finding] = assignment_findings(under, TREE)
    assert (finding.union_code, finding.scope, finding.severity) == ("vn", "program", "flagged")
    assert "add up to 1,100, below its own 1,200" in finding.reason
    # Still assigning: what is assigned so far is compared.
    [partial] = assignment_findings(targets(("vn", "program", 1000), ("a", "program", 1)), TREE)
    assert "assigned to 1 of its unions add up to 1, below its own 1,000" in partial.reason
    # Nothing assigned for the scope: nothing to judge.
    assert assignment_findings(targets(("vn", "program", 1000)), TREE) == []
    assert (
        assignment_findings(
            targets(("vn", "program", 1000), ("a", "program", 600), ("b", "program", 400)), TREE
        )
        == []
    )


def test_a_reference_folder_whose_phases_disagree_is_refused(tmp_path: Path) -> None:
    shutil.copytree(REFERENCE, tmp_path / "reference")
    known = tmp_path / "reference" / "targets_known.csv"
    known.write_text(known.read_text() + "ldld-lai-chau,phase-1,3249,\n", encoding="utf-8")
    generated = tmp_path / "reference" / "targets_generated.csv"
    generated.write_text(
        "".join(
            line
            for line in generated.read_text().splitlines(keepends=True)
            if not line.startswith("ldld-lai-chau,phase-1,")
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        ReferenceDataError, match=r"targets of ldld-lai-chau \(program\): phase targets"
    ):
        load_reference(tmp_path / "reference")


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=50))
def test_apportion_shares_the_total_exactly_with_at_least_one_each(
    total: int, weights: list[int]
) -> None:
    shares = apportion(total, weights)
    assert len(shares) == len(weights)
    assert min(shares) >= 1
    assert sum(shares) == max(total, len(weights))

"""Reference changes as pure functions: each one checked against the data it applies to,
refused with a reason, or giving the next version; replayed in version order."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.reference import (
    Change,
    PhaseAdded,
    PhaseDates,
    PhasesRedated,
    ReferenceChangedV1,
    TargetsSet,
    TargetValue,
    UnionAdded,
    UnionClosed,
    UnionMerged,
    UnionMoved,
    UnionRenamed,
)
from shared.reference.catalog import ReferenceData, load_reference
from shared.reference.changes import ChangeRefused, apply_change, apply_changes, replay
from shared.reference.consistency import findings
from shared.reference.unions import UnionTree
from shared.settings import REPO_ROOT
from tests.support.events import reference_changed

REFERENCE = load_reference(REPO_ROOT / "reference")
DISTRICT = "ldld-lai-chau.h01"
MARCH, APRIL = date(2022, 3, 1), date(2022, 4, 1)


def redated(*phases: tuple[str, date, date]) -> PhasesRedated:
    return PhasesRedated(phases=[PhaseDates(code=c, starts_on=s, ends_on=e) for c, s, e in phases])


def added(code: str, parent: str = DISTRICT, level: str = "grassroots") -> UnionAdded:
    return UnionAdded(code=code, name=f"Công đoàn {code}", level=level, parent_code=parent)


def test_a_union_added_below_an_open_one_takes_submissions_at_the_next_version() -> None:
    changed, flags = apply_change(REFERENCE, added("ldld-lai-chau.h01.moi"))
    assert changed.version == REFERENCE.version + 1 == 1
    union = changed.tree["ldld-lai-chau.h01.moi"]
    assert union.accepts_submissions
    assert changed.tree.path(union.code) == ("vn", "ldld-lai-chau", DISTRICT, union.code)
    assert flags == []
    assert "ldld-lai-chau.h01.moi" not in REFERENCE.tree  # the old version is untouched


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (added(f"{DISTRICT}.cs0001"), "exists already"),
        (added("x", parent="nowhere"), "no union 'nowhere'"),
        (added("x", parent="vn"), "a grassroots union cannot sit below a national union"),
        (added("x", level="district"), "a district union cannot sit below a district union"),
        (UnionRenamed(code="nowhere", name="N"), "no union 'nowhere'"),
        (UnionClosed(code="vn"), "the national union cannot be closed"),
        (UnionClosed(code=DISTRICT), "still has"),
        (
            TargetsSet(union_code=DISTRICT, targets=[TargetValue(scope="phase-9", assigned=5)]),
            "unknown scope 'phase-9'",
        ),
        (
            TargetsSet(
                union_code="ldld-lai-chau",
                targets=[TargetValue(scope="program", assigned=3000)],
            ),
            "differ from the program target 3,000",
        ),
        (
            TargetsSet(
                union_code=DISTRICT,
                targets=[TargetValue(scope="program", assigned=500, self_set=400)],
            ),
            "self-set target 400 of program is below the assigned 500",
        ),
        (
            PhaseAdded(
                code="phase-3",
                name="3",
                starts_on=date(2024, 1, 1),
                ends_on=date(2023, 12, 31),
                national_target=1,
            ),
            "ends on 2023-12-31, before it starts",
        ),
        (UnionMoved(code="vn", parent_code=DISTRICT, effective_on=MARCH), "cannot move"),
        (
            UnionMoved(code=DISTRICT, parent_code="ldld-lai-chau", effective_on=MARCH),
            "sits below 'ldld-lai-chau' already",
        ),
        (
            UnionMoved(code=f"{DISTRICT}.cs0001", parent_code="ldld-ha-noi", effective_on=MARCH),
            "a grassroots union cannot sit below a province union",
        ),
        (
            UnionMerged(code=f"{DISTRICT}.cs0001", into_code=DISTRICT, effective_on=MARCH),
            "can only merge into another grassroots union",
        ),
        (
            UnionMerged(code=DISTRICT, into_code=DISTRICT, effective_on=MARCH),
            "cannot merge into itself",
        ),
        (redated(("phase-9", MARCH, APRIL)), "unknown phase 'phase-9'"),
        (
            redated(("phase-1", date(2021, 9, 1), date(2022, 6, 30))),
            "'phase-1' and 'phase-2' would overlap on 2022-06-01",
        ),
        (
            redated(("phase-1", date(2021, 9, 1), date(2022, 4, 30))),
            "2022-05-01 would fall outside every phase",
        ),
        (
            redated(("phase-1", date(2021, 9, 1), date(2022, 4, 30)), ("phase-1", MARCH, APRIL)),
            "given twice",
        ),
    ],
)
def test_a_change_that_contradicts_the_data_is_refused_with_its_reason(
    change: Change, reason: str
) -> None:
    with pytest.raises(ChangeRefused, match=reason):
        apply_change(REFERENCE, change)


def test_a_closed_union_stops_taking_submissions_and_takes_no_more_changes() -> None:
    grassroots = REFERENCE.tree.children(DISTRICT)[0]
    closed, _ = apply_change(REFERENCE, UnionClosed(code=grassroots))
    assert closed.tree[grassroots].closed
    assert not closed.tree[grassroots].accepts_submissions
    assert closed.tree.path(grassroots)[-1] == grassroots  # its history keeps its place
    with pytest.raises(ChangeRefused, match="is closed"):
        apply_change(closed, added("x", parent=grassroots, level="grassroots"))
    with pytest.raises(ChangeRefused, match="is closed"):
        apply_change(closed, UnionRenamed(code=grassroots, name="N"))


def test_targets_set_together_agree_and_an_under_assignment_is_flagged() -> None:
    province = TargetsSet(
        union_code="ldld-lai-chau",
        targets=[
            TargetValue(scope="program", assigned=3000, self_set=3500),
            TargetValue(scope="phase-1", assigned=900),
            TargetValue(scope="phase-2", assigned=2100),
        ],
    )
    changed, flags = apply_change(REFERENCE, province)
    assert changed.targets[("ldld-lai-chau", "program")].effective == 3500
    # Its districts still add up to the old 2,300: reported, not refused.
    assert [(f.union_code, f.scope, f.severity) for f in flags] == [
        ("ldld-lai-chau", "program", "flagged")
    ]
    assert "below its own 3,500" in flags[0].reason


def phase_3(starts_on: date = date(2023, 9, 2)) -> PhaseAdded:
    return PhaseAdded(
        code="phase-3",
        name="Giai đoạn 3",
        starts_on=starts_on,
        ends_on=date(starts_on.year + 4, 12, 31),
        national_target=500_000,
    )


def test_a_phase_added_after_the_last_grows_the_national_targets_and_takes_its_dates() -> None:
    changed, flags = apply_change(REFERENCE, phase_3())
    program = changed.program
    assert [p.code for p in program.phases] == ["phase-1", "phase-2", "phase-3"]
    assert program.national_target == 1_500_000
    assert program.phase_on(date(2026, 11, 1)).code == "phase-3"  # type: ignore[union-attr]
    assert changed.targets[("vn", "phase-3")].assigned == 500_000
    assert changed.targets[("vn", "program")].assigned == 1_500_000
    assert flags == []
    # The provinces' phase targets now add up to less than their programs: accepted.
    found = findings(changed.targets, changed.tree, program)
    assert [f for f in found if f.severity == "refused"] == []
    with pytest.raises(ChangeRefused, match="start after the program's last day, 2023-09-01"):
        apply_change(REFERENCE, phase_3(date(2023, 9, 1)))
    with pytest.raises(ChangeRefused, match="a scope 'phase-3' already"):
        apply_change(changed, phase_3(date(2028, 1, 1)))


def test_phases_redated_together_move_their_boundary() -> None:
    changed, _ = apply_change(
        REFERENCE,
        redated(
            ("phase-1", date(2021, 9, 1), date(2022, 4, 30)),
            ("phase-2", date(2022, 5, 1), REFERENCE.program.ends_on),
        ),
    )
    program = changed.program
    assert [p.code for p in program.phases] == ["phase-1", "phase-2"]
    assert program.phase_on(date(2022, 5, 15)).code == "phase-2"  # type: ignore[union-attr]
    assert (program.starts_on, program.ends_on) == (
        REFERENCE.program.starts_on,
        REFERENCE.program.ends_on,
    )
    longer, _ = apply_change(REFERENCE, redated(("phase-2", date(2022, 6, 1), date(2023, 12, 31))))
    assert longer.program.ends_on == date(2023, 12, 31)


def test_a_move_and_a_merge_place_submissions_as_filed_and_as_of_now() -> None:
    grassroots, other_district = f"{DISTRICT}.cs0001", "ldld-lai-chau.h02"
    moved, _ = apply_change(
        REFERENCE, UnionMoved(code=grassroots, parent_code=other_district, effective_on=APRIL)
    )
    old = ("vn", "ldld-lai-chau", DISTRICT, grassroots)
    new = ("vn", "ldld-lai-chau", other_district, grassroots)
    assert moved.placing.place(grassroots, MARCH) == (new, old)
    assert moved.placing.place(grassroots, APRIL) == (new, new)
    with pytest.raises(ChangeRefused, match="moved on 2022-04-01 already"):
        apply_change(moved, UnionMoved(code=grassroots, parent_code=DISTRICT, effective_on=MARCH))
    # The district merges into its neighbour in May: its children follow, as filed from May.
    may = date(2022, 5, 1)
    merged, _ = apply_change(
        moved, UnionMerged(code=other_district, into_code=DISTRICT, effective_on=may)
    )
    assert merged.tree[other_district].closed
    assert merged.tree[other_district].merged_into == DISTRICT
    assert merged.tree.children(other_district) == []
    assert merged.placing.place(grassroots, MARCH) == (old, old)
    assert merged.placing.place(grassroots, APRIL) == (old, new)
    assert merged.placing.place(grassroots, may) == (old, old)
    district_path = ("vn", "ldld-lai-chau", DISTRICT)
    assert merged.placing.place(other_district, APRIL) == (district_path, new[:3])
    assert merged.placing.place(other_district, may) == (district_path, district_path)
    assert grassroots in merged.placing.dated_unions()


def test_replay_applies_versions_in_order_whatever_order_they_arrive_in_up_to_a_gap() -> None:
    one = reference_changed(1, added("ldld-lai-chau.h01.a"))
    two = reference_changed(2, UnionRenamed(code="ldld-lai-chau.h01.a", name="Tên mới"))
    four = reference_changed(4, UnionClosed(code="ldld-lai-chau.h01.a"))
    replayed: ReferenceData = replay(REFERENCE, [four, two, one])
    assert replayed.version == 2  # four waits for three
    assert replayed.tree["ldld-lai-chau.h01.a"].name == "Tên mới"
    assert replay(replayed, [one, two]) is replayed  # already applied: nothing changes


# A small tree, so that each of the many replays is quick.
SMALL = ReferenceData(
    tree=UnionTree(
        [
            REFERENCE.tree["vn"],
            REFERENCE.tree["ldld-lai-chau"],
            REFERENCE.tree[DISTRICT],
            *(REFERENCE.tree[code] for code in sorted(REFERENCE.tree.children(DISTRICT))[:5]),
        ]
    ),
    program=REFERENCE.program,
    targets={},
)
GRASSROOTS = sorted(SMALL.tree.children(DISTRICT))


@st.composite
def change_sequences(draw: st.DrawFn) -> list[Change]:
    """Valid changes in order: unions added below the district (and below each other's
    parent), renamed, closed, and the district's program target set, raised or lowered."""
    changes: list[Change] = []
    open_new: list[str] = []
    closable = list(GRASSROOTS[:5])
    for number in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["add", "rename", "close", "target"]))
        if kind == "add" or (kind in ("rename", "close") and not (open_new or closable)):
            code = f"{DISTRICT}.p{number}"
            changes.append(added(code))
            open_new.append(code)
        elif kind == "rename":
            code = draw(st.sampled_from([*open_new, *closable]))
            changes.append(UnionRenamed(code=code, name=f"Tên {number}"))
        elif kind == "close":
            code = draw(st.sampled_from([*open_new, *closable]))
            changes.append(UnionClosed(code=code))
            (open_new if code in open_new else closable).remove(code)
        else:
            assigned = draw(st.integers(1, 10_000))
            raised = draw(st.one_of(st.none(), st.integers(assigned, 20_000)))
            value = TargetValue(scope="program", assigned=assigned, self_set=raised)
            changes.append(TargetsSet(union_code=DISTRICT, targets=[value]))
    return changes


@settings(max_examples=60, deadline=None)
@given(change_sequences(), st.randoms(use_true_random=False))
def test_changes_arriving_in_any_order_and_in_any_batches_give_the_same_data(
    changes: list[Change], shuffler: random.Random
) -> None:
    """A follower that receives the versions shuffled, a few at a time (each batch stored and
    replayed), ends with the data the changes give applied in order."""
    in_order, _ = apply_changes(SMALL, changes)
    arriving = [reference_changed(number, change) for number, change in enumerate(changes, 1)]
    shuffler.shuffle(arriving)
    stored: list[ReferenceChangedV1] = []
    followed = SMALL
    while arriving:
        size = shuffler.randint(1, 4)
        batch, arriving = arriving[:size], arriving[size:]
        stored.extend(batch)
        followed = replay(followed, stored)
        assert followed.version <= len(changes)
    assert followed.version == in_order.version == len(changes)
    assert followed.targets == in_order.targets
    assert {u.code: u for u in followed.tree} == {u.code: u for u in in_order.tree}

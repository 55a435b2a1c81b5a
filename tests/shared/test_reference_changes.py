"""Reference changes as pure functions: each one checked against the data it applies to,
refused with a reason, or giving the next version; replayed in version order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contracts.reference import (
    Change,
    ReferenceChangedV1,
    TargetsSet,
    TargetValue,
    UnionAdded,
    UnionClosed,
    UnionRenamed,
)
from shared.reference.catalog import ReferenceData, load_reference
from shared.reference.changes import ChangeRefused, apply_change, replay
from shared.settings import REPO_ROOT

REFERENCE = load_reference(REPO_ROOT / "reference")
DISTRICT = "ldld-lai-chau.h01"


def event(version: int, change: Change) -> ReferenceChangedV1:
    return ReferenceChangedV1(
        message_id=f"m{version}",
        correlation_id=f"m{version}",
        occurred_at=datetime(2022, 1, 1, tzinfo=UTC),
        version=version,
        changed_by="test",
        reason="test",
        change=change,
    )


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


def test_replay_applies_versions_in_order_whatever_order_they_arrive_in_up_to_a_gap() -> None:
    one = event(1, added("ldld-lai-chau.h01.a"))
    two = event(2, UnionRenamed(code="ldld-lai-chau.h01.a", name="Tên mới"))
    four = event(4, UnionClosed(code="ldld-lai-chau.h01.a"))
    replayed: ReferenceData = replay(REFERENCE, [four, two, one])
    assert replayed.version == 2  # four waits for three
    assert replayed.tree["ldld-lai-chau.h01.a"].name == "Tên mới"
    assert replay(replayed, [one, two]) is replayed  # already applied: nothing changes

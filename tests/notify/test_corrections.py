"""Corrections as a union reads them (pure): one per milestone and notice, in Vietnamese."""

from __future__ import annotations

from datetime import date

from services.notify.messages import Correction, Milestone, line, one_per_milestone
from shared.contracts.milestone import MilestoneKind, RevisionReason


def target(day: date, ahead: int, *, number: int = 0, was: date | None = None) -> Milestone:
    """Lai Châu's target-reached milestone, told on ``day``; with ``number``, a correction."""
    correction = None
    if number and was is not None:
        correction = Correction(number, RevisionReason.EARLIER, was, (date(2023, 9, 1) - was).days)
    return Milestone(
        milestone_id="m-1",
        union_code="ldld-lai-chau",
        union_name="LĐLĐ tỉnh Lai Châu",
        scope="program",
        scope_name="toàn chương trình",
        rule_id="target-reached",
        kind=MilestoneKind.TARGET_REACHED,
        threshold=100,
        counted=2484,
        target=2300,
        reached_on=day,
        days_ahead=ahead,
        correction=correction,
    )


def test_a_correction_names_what_was_told_what_is_true_and_why() -> None:
    fixed = target(date(2022, 12, 10), 265, number=1, was=date(2023, 4, 17))
    assert line(fixed) == (
        "Đính chính: LĐLĐ tỉnh Lai Châu hoàn thành chỉ tiêu toàn chương trình: nay là ngày "
        "10/12/2022, sớm 265 ngày (đã báo: ngày 17/04/2023, sớm 137 ngày), vì các sáng kiến gửi "
        "muộn, có ngày nộp sớm hơn, đã được ghi nhận"
    )


def test_a_chain_of_corrections_is_told_as_one_change_and_none_when_it_cancels_out() -> None:
    first = target(date(2023, 1, 5), 239, number=1, was=date(2023, 4, 17))
    second = target(date(2022, 12, 10), 265, number=2, was=date(2023, 1, 5))
    [merged] = one_per_milestone([second, first])
    assert merged.correction is not None
    assert merged.correction.previous_reached_on == date(2023, 4, 17)
    assert merged.reached_on == date(2022, 12, 10)
    back = target(date(2023, 4, 17), 137, number=3, was=date(2022, 12, 10))
    assert one_per_milestone([first, second, back]) == []


def test_a_first_notice_beside_its_corrections_tells_the_facts_alone() -> None:
    news = target(date(2022, 12, 10), 265)
    assert one_per_milestone(
        [news, target(date(2022, 12, 10), 265, number=1, was=date(2023, 4, 17))]
    ) == [news]

"""The counting rules, roll-up, distinct authors, progress and ranking, without a database."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from services.aggregation.authors import coverage_changes
from services.aggregation.counting import (
    Changes,
    Figures,
    Reach,
    Standing,
    SubmissionEvent,
    apply_event,
    standing_of,
    transitions,
)
from services.aggregation.leaderboards import Entry, RankBy, ranked
from services.aggregation.progress import Period, days_ahead, pace, reached_on, rolling
from shared.contracts.submission import ReviewDecision, Verdict
from tests.support.events import facts, reference, reviewed, screened

HN_1, HN_2 = "ldld-ha-noi.h03.cs0001", "ldld-ha-noi.h03.cs0002"
HN_OTHER_DISTRICT = "ldld-ha-noi.h04.cs0001"
MARCH_15 = date(2022, 3, 15)


def placed(union_code: str, day: date) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Where the test reference places a union's submissions (no union moved)."""
    return reference().placing.place(union_code, day)


def screening(fact: dict[str, Any], verdict: Verdict = Verdict.UNIQUE) -> SubmissionEvent:
    """The screening of ``fact``'s submission as counting takes it."""
    return SubmissionEvent.of(screened(fact, verdict))


def review(fact: dict[str, Any], decision: ReviewDecision, sequence: int) -> SubmissionEvent:
    """A review of ``fact``'s submission as counting takes it."""
    return SubmissionEvent.of(reviewed(fact, decision, sequence))


@pytest.mark.parametrize(
    ("verdict", "decision", "standing"),
    [
        (Verdict.UNIQUE, None, Standing.COUNTED),
        (Verdict.NEAR_DUPLICATE, None, Standing.FLAGGED),
        (Verdict.EXACT_DUPLICATE, None, Standing.EXCLUDED),
        (None, None, Standing.COUNTED),
        (Verdict.NEAR_DUPLICATE, ReviewDecision.VALID, Standing.COUNTED),
        (Verdict.NEAR_DUPLICATE, ReviewDecision.NOT_DUPLICATE, Standing.COUNTED),
        (Verdict.NEAR_DUPLICATE, ReviewDecision.CONFIRMED_DUPLICATE, Standing.EXCLUDED),
        (Verdict.EXACT_DUPLICATE, ReviewDecision.VALID, Standing.EXCLUDED),
        (Verdict.EXACT_DUPLICATE, ReviewDecision.NOT_DUPLICATE, Standing.COUNTED),
        (Verdict.UNIQUE, ReviewDecision.INVALID, Standing.EXCLUDED),
        (Verdict.UNIQUE, ReviewDecision.WITHDRAWN, Standing.EXCLUDED),
        (None, ReviewDecision.INVALID, Standing.EXCLUDED),
    ],
)
def test_what_counts(
    verdict: Verdict | None, decision: ReviewDecision | None, standing: Standing
) -> None:
    assert standing_of(verdict, decision) is standing


def test_the_latest_review_wins_whatever_the_arrival_order() -> None:
    fact = facts("s1", HN_1, MARCH_15)
    events: list[SubmissionEvent] = [
        screening(fact, Verdict.NEAR_DUPLICATE),
        review(fact, ReviewDecision.CONFIRMED_DUPLICATE, 1),
        review(fact, ReviewDecision.NOT_DUPLICATE, 2),
    ]
    finals = set()
    for order in itertools.permutations(events):
        state = None
        for event in order:
            state = apply_event(state, event)
        assert state is not None
        finals.add((state.verdict, state.decision, state.standing))
    assert finals == {(Verdict.NEAR_DUPLICATE, ReviewDecision.NOT_DUPLICATE, Standing.COUNTED)}


def test_a_submission_counts_for_its_union_and_every_ancestor_in_phase_and_program() -> None:
    fact = facts("s1", HN_1, MARCH_15, benefit_vnd=5_000)
    _, changes, applied = transitions({"s1": None}, [screening(fact), screening(fact)], placed)
    assert applied == 1  # the repeat changes nothing
    path = reference().tree.path(HN_1)
    assert path == ("vn", "ldld-ha-noi", "ldld-ha-noi.h03", HN_1)
    one = Figures(received=1, counted=1, benefit_vnd=5_000)
    for scope in ("phase-1", "program"):
        for union in path:
            assert changes.figures((union, scope, Reach.SUBTREE)) == one
        assert changes.figures((HN_1, scope, Reach.OWN)) == one
        assert ("ldld-ha-noi", scope, Reach.OWN) not in changes.tallies
    assert {union for union, _ in changes.daily} == set(path)


def test_sums_climb_the_tree_once_per_union_with_the_latest_date() -> None:
    early, late = facts("s1", HN_1, MARCH_15), facts("s2", HN_OTHER_DISTRICT, date(2022, 3, 20))
    third = facts("s3", HN_2, date(2022, 3, 10), benefit_vnd=9)
    _, changes, _ = transitions(
        dict.fromkeys(("s1", "s2", "s3")),
        [screening(early), screening(late), screening(third)],
        placed,
    )
    province = ("ldld-ha-noi", "program", Reach.SUBTREE)
    assert changes.figures(province).received == 3
    assert changes.figures(("ldld-ha-noi.h03", "program", Reach.SUBTREE)).received == 2
    assert changes.latest_on[province] == date(2022, 3, 20)
    assert changes.latest_on[("ldld-ha-noi.h03", "phase-1", Reach.SUBTREE)] == MARCH_15
    assert changes.latest_on[(HN_2, "phase-1", Reach.SUBTREE)] == date(2022, 3, 10)
    assert changes.daily[("vn", MARCH_15)] == changes.daily[(HN_1, MARCH_15)] == 1
    assert changes.figures((HN_2, "phase-1", Reach.OWN)).benefit_vnd == 9


def test_a_confirmed_duplicate_moves_out_of_the_count_and_back() -> None:
    fact = facts("s1", HN_1, MARCH_15, benefit_vnd=7)
    flagged, changes, _ = transitions(
        {"s1": None}, [screening(fact, Verdict.NEAR_DUPLICATE)], placed
    )
    assert changes.figures(("vn", "program", Reach.SUBTREE)) == Figures(1, 1, 1, 0, 7)
    out, changes, _ = transitions(
        {"s1": flagged["s1"]}, [review(fact, ReviewDecision.CONFIRMED_DUPLICATE, 1)], placed
    )
    assert changes.figures(("vn", "program", Reach.SUBTREE)) == Figures(0, -1, -1, 1, -7)
    assert changes.daily[("vn", MARCH_15)] == -1
    _, changes, _ = transitions(
        {"s1": out["s1"]}, [review(fact, ReviewDecision.NOT_DUPLICATE, 2)], placed
    )
    assert changes.figures(("vn", "program", Reach.SUBTREE)) == Figures(0, 1, 0, -1, 7)


def test_distinct_authors_follow_coverage_of_the_tree() -> None:
    path_of = reference().tree.path
    changes = Changes()
    # The author already counts once in HN_1 (phase-1); now files in HN_2 and leaves HN_1.
    changes.authors[("a", "phase-1", HN_2)] += 1
    changes.authors[("a", "phase-1", HN_1)] -= 1
    rows = coverage_changes({("a", "phase-1"): {HN_1: 1}}, changes, path_of)
    assert rows == {("a", "phase-1", HN_2): 1, ("a", "phase-1", HN_1): 0}
    moved = {key: row[5] for key, row in changes.tallies.items() if row[5]}
    assert moved == {
        (HN_2, "phase-1", Reach.OWN): 1,
        (HN_2, "phase-1", Reach.SUBTREE): 1,
        (HN_1, "phase-1", Reach.OWN): -1,
        (HN_1, "phase-1", Reach.SUBTREE): -1,
    }  # district, province and national still see the same one author


def test_a_second_author_in_another_district_adds_to_the_province_once() -> None:
    changes = Changes()
    changes.authors[("b", "program", HN_OTHER_DISTRICT)] += 2
    coverage_changes({}, changes, reference().tree.path)
    assert changes.figures(("ldld-ha-noi", "program", Reach.SUBTREE)).distinct_authors == 1
    assert changes.figures(("vn", "program", Reach.SUBTREE)).distinct_authors == 1


PHASE_1 = Period(date(2021, 9, 1), date(2022, 5, 31))


def test_reached_on_is_the_first_date_the_cumulative_total_reaches_the_target() -> None:
    daily = {date(2022, 1, 3): 5, date(2021, 12, 1): 4, date(2022, 2, 1): 10}
    assert reached_on(daily, PHASE_1, 9) == date(2022, 1, 3)
    assert reached_on(daily, PHASE_1, 10) == date(2022, 2, 1)
    assert reached_on(daily, PHASE_1, 20) is None
    assert reached_on(daily, PHASE_1, None) is None
    assert days_ahead(PHASE_1, date(2022, 2, 1)) == 119
    assert days_ahead(PHASE_1, date(2022, 5, 31)) == 0


def test_rolling_windows_pace_and_projection() -> None:
    daily = {date(2022, 3, d): 7 for d in range(1, 16)}  # 7 a day, 1–15 March
    assert rolling(daily, date(2022, 3, 15), 1) == 7
    assert rolling(daily, date(2022, 3, 15), 7) == 49
    assert rolling(daily, date(2022, 3, 15), 30) == 105
    progress = pace(daily, PHASE_1, 140, date(2022, 3, 15), None)
    assert progress.average_7d == 7
    assert progress.counted_to_date == 105
    assert progress.projected_on == date(2022, 3, 20)  # 35 more at 7 a day
    assert progress.needed_per_day == pytest.approx(35 / 77)  # 77 days left after 15 March
    done = pace(daily, PHASE_1, 100, date(2022, 3, 15), date(2022, 3, 15))
    assert done.projected_on == date(2022, 3, 15)
    assert done.needed_per_day is None
    assert pace({}, PHASE_1, 10, date(2022, 3, 15), None).projected_on is None


def test_leaderboards_rank_with_ties_and_targets() -> None:
    entries = [Entry("a", 5, 10), Entry("b", 8, None), Entry("c", 5, 5), Entry("d", 1, 1)]
    by_count = [(rank, e.code) for rank, e in ranked(entries, RankBy.COUNTED)]
    assert by_count == [(1, "b"), (2, "a"), (2, "c"), (4, "d")]
    by_percent = [(rank, e.code) for rank, e in ranked(entries, RankBy.PERCENT)]
    assert by_percent == [(1, "c"), (1, "d"), (3, "a"), (4, "b")]

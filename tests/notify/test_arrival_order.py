"""Arrival order changes no milestone: a province's submissions (and reviews excluding some of
them) arrive in any order, with snapshots taken at any points between; the milestones notify
ends with, after its revisions, are those of the submissions in event-time order, each dated by
the day its threshold was crossed, and none fired twice. Pure functions of both services, no
broker."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.aggregation.progress import (
    Period,
    crossings,
    days_ahead,
    reached_on,
    thresholds_passed,
)
from services.notify.revisions import Told, after, revision
from services.notify.rules import standings
from shared.contracts.envelope import utc_now
from shared.contracts.milestone import MilestoneKind
from shared.contracts.progress import Figures, ProgressUpdatedV1
from shared.reference.milestones import Rule

PERIOD = Period(date(2022, 6, 1), date(2023, 9, 1))
TARGET = 30
LEVELS = frozenset({"province"})
RULES = (
    Rule("percent-50", MilestoneKind.PERCENT_OF_TARGET, 50, LEVELS),
    Rule("percent-75", MilestoneKind.PERCENT_OF_TARGET, 75, LEVELS),
    Rule("percent-150", MilestoneKind.PERCENT_OF_TARGET, 150, LEVELS),
    Rule("target-reached", MilestoneKind.TARGET_REACHED, 100, LEVELS),
)


@dataclass(frozen=True)
class Event:
    """A submission filed on ``day``, or (``excludes``) a review taking submission n out."""

    number: int
    day: date
    excludes: bool = False


def snapshot(seen: list[Event], revision: int) -> ProgressUpdatedV1:
    """What aggregation publishes after ``seen`` arrived: figures, crossings, reached_on."""
    excluded = {e.number for e in seen if e.excludes}
    counted = [e for e in seen if not e.excludes and e.number not in excluded]
    daily = Counter(e.day for e in counted)
    total = len(counted)
    crossed = crossings(
        daily, PERIOD, thresholds_passed(RULES, "province", "program", TARGET, total)
    )
    reached = next((c.reached_on for c in crossed if c.counted == TARGET), None)
    figures = Figures(
        received=total, counted=total, flagged=0, excluded=0, benefit_vnd=0, distinct_authors=1
    )
    return ProgressUpdatedV1(
        message_id=f"s-{revision}",
        correlation_id="c",
        occurred_at=utc_now(),
        union_code="ldld-lai-chau",
        level="province",
        program="mot-trieu-sang-kien",
        scope="program",
        revision=revision,
        as_of=max((e.day for e in counted), default=PERIOD.starts_on),
        subtree=figures,
        own=figures,
        target=TARGET,
        reached_on=reached,
        days_ahead=days_ahead(PERIOD, reached),
        crossings=crossed,
    )


def notify(snapshots: list[ProgressUpdatedV1]) -> tuple[dict[str, Told], Counter[str]]:
    """Notify's records after the snapshots, and how often each milestone fired."""
    records: dict[str, Told] = {}
    fired: Counter[str] = Counter()
    for shot in snapshots:
        for standing in standings(shot, RULES):
            told = records.get(standing.milestone_id)
            if told is None:
                if standing.reached_on is not None:
                    records[standing.milestone_id] = Told(
                        standing.reached_on, standing.days_ahead, 0
                    )
                    fired[standing.milestone_id] += 1
                continue
            change = revision(told, standing)
            if change is not None:
                records[standing.milestone_id] = after(told, change)
    return records, fired


def final(records: dict[str, Told]) -> dict[str, tuple[date, int | None]]:
    """The milestones reached in the end, with their day and days ahead (a withdrawn one is as
    unreached as one that never fired)."""
    return {
        key: (told.reached_on, told.days_ahead)
        for key, told in records.items()
        if told.reached_on is not None
    }


campaigns = st.lists(st.integers(0, 400), min_size=TARGET, max_size=3 * TARGET).flatmap(
    lambda offsets: st.tuples(
        st.just(offsets),
        st.sets(st.integers(0, len(offsets) - 1), max_size=len(offsets) // 3),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=150, deadline=None)
@given(campaign=campaigns)
def test_any_arrival_order_ends_in_the_milestones_of_event_time_order(campaign: tuple) -> None:
    offsets, exclusions, rng = campaign
    events = [Event(n, PERIOD.starts_on + timedelta(days=d)) for n, d in enumerate(offsets)]
    events += [Event(n, events[n].day, excludes=True) for n in sorted(exclusions)]
    in_event_time = sorted(events, key=lambda e: (e.day, e.excludes, e.number))
    shuffled = events[:]
    rng.shuffle(shuffled)

    def run(order: list[Event]) -> tuple[dict[str, Told], Counter[str]]:
        points = sorted({rng.randrange(1, len(order) + 1) for _ in range(6)} | {len(order)})
        return notify([snapshot(order[:point], n) for n, point in enumerate(points, start=1)])

    expected, _ = run(in_event_time)
    told, fired = run(shuffled)
    assert final(told) == final(expected)
    assert all(times == 1 for times in fired.values())
    # And what was told is what the daily buckets say, threshold by threshold.
    last = snapshot(events, 1)
    for standing in standings(last, RULES):
        if standing.milestone_id in final(told):
            count = standing.rule.count(TARGET)
            assert count is not None
            daily = Counter(
                e.day
                for e in events
                if not e.excludes and e.number not in {x.number for x in events if x.excludes}
            )
            day = told[standing.milestone_id].reached_on
            assert day == reached_on(daily, PERIOD, count)

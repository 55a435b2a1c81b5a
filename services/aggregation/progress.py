"""Progress against a target, from a union's daily counted series (pure functions).

Everything here is computed from the daily buckets, never from arrival order: ``reached_on`` is
the first local date on which the cumulative counted total reached the target, so a late event
dated earlier moves it earlier, and a review that excludes a submission can move it later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from shared.contracts.progress import Crossing
from shared.reference.milestones import Rule, counts_to_date

WINDOWS = (1, 7, 30)
# Beyond this the pace foresees no completion date worth printing (and dates would overflow).
FORESEEABLE_DAYS = 100 * 365


@dataclass(frozen=True, slots=True)
class Period:
    """The local-date range of a scope (a phase or the whole program), inclusive."""

    starts_on: date
    ends_on: date

    def clamp(self, day: date) -> date:
        """``day`` brought inside the period."""
        return min(max(day, self.starts_on), self.ends_on)


def cumulative_through(daily: Mapping[date, int], period: Period, day: date) -> int:
    """Counted from the start of ``period`` through ``day``."""
    return sum(n for d, n in daily.items() if period.starts_on <= d <= day)


def reached_on(daily: Mapping[date, int], period: Period, target: int | None) -> date | None:
    """First date in ``period`` on which the cumulative counted total reached ``target``."""
    if target is None:
        return None
    total = 0
    for day in sorted(d for d in daily if period.starts_on <= d <= period.ends_on):
        total += daily[day]
        if total >= target:
            return day
    return None


def days_ahead(period: Period, reached: date | None) -> int | None:
    """Days between reaching the target and the end of the period (0: on the last day)."""
    return None if reached is None else (period.ends_on - reached).days


def rolling(daily: Mapping[date, int], day: date, days: int) -> int:
    """Counted in the ``days`` local dates ending with ``day``."""
    first = day - timedelta(days=days - 1)
    return sum(n for d, n in daily.items() if first <= d <= day)


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast a union goes, as of a date, and what it still needs."""

    as_of: date
    counted_to_date: int
    rolling: dict[int, int]
    average_7d: float
    projected_on: date | None
    needed_per_day: float | None


def pace(
    daily: Mapping[date, int],
    period: Period,
    target: int | None,
    as_of: date,
    reached: date | None,
) -> Pace:
    """Rolling counts, 7-day average, projected completion date and daily rate still needed.

    The projection is ``reached`` once the target is met; otherwise as_of plus the days the
    remainder takes at the 7-day average (None at a standstill or beyond a century). The rate
    still needed spreads the remainder over the days left after ``as_of`` (None when met or when
    no day is left).
    """
    day = period.clamp(as_of)
    to_date = cumulative_through(daily, period, day)
    windows = {n: rolling(daily, day, n) for n in WINDOWS}
    average = windows[7] / 7
    projected: date | None = None
    needed: float | None = None
    if target is not None:
        remaining = target - to_date
        if reached is not None and reached <= day:
            projected = reached
        elif remaining > 0:
            days_to_go = math.ceil(remaining / average) if average > 0 else None
            if days_to_go is not None and days_to_go <= FORESEEABLE_DAYS:
                projected = day + timedelta(days=days_to_go)
            days_left = (period.ends_on - day).days
            needed = remaining / days_left if days_left > 0 else None
    return Pace(day, to_date, windows, average, projected, needed)


def percent(counted: int, target: int | None) -> float | None:
    """Counted against the target, in percent (two decimals)."""
    return None if not target else round(100 * counted / target, 2)


def thresholds_passed(
    rules: Iterable[Rule], level: str, scope: str, target: int | None, counted: int
) -> set[int]:
    """The counts a snapshot dates: each milestone rule's count at or below ``counted``, and the
    target once reached (its day is the snapshot's ``reached_on``)."""
    counts = counts_to_date(rules, level, scope, target)
    if target is not None:
        counts.add(target)
    return {count for count in counts if count <= counted}


def crossings(daily: Mapping[date, int], period: Period, counts: Iterable[int]) -> list[Crossing]:
    """The date each of ``counts`` was first reached by the cumulative daily counted series."""
    dated = ((count, reached_on(daily, period, count)) for count in sorted(counts))
    return [Crossing(counted=count, reached_on=day) for count, day in dated if day is not None]

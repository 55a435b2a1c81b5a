"""Ranking unions (or emulation clusters) against each other (pure): by counted or by percent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class RankBy(StrEnum):
    """What a leaderboard ranks by."""

    COUNTED = "counted"
    PERCENT = "percent"


@dataclass(frozen=True, slots=True)
class Entry:
    """A union's (or an emulation cluster's) standing for a scope, as a leaderboard needs it."""

    code: str
    counted: int
    target: int | None

    @property
    def percent(self) -> float | None:
        """Counted against the target, in percent."""
        return None if not self.target else 100 * self.counted / self.target


def ranked(entries: Sequence[Entry], by: RankBy) -> list[tuple[int, Entry]]:
    """Entries best first with competition ranks (1, 2, 2, 4); ties keep code order.

    By percent, unions without a target come last, unranked among themselves by count.
    """

    def key(entry: Entry) -> tuple[float, float, str]:
        if by is RankBy.PERCENT:
            share = entry.percent
            if share is None:
                return (1, -entry.counted, entry.code)
            return (0, -share, entry.code)
        return (0, -entry.counted, entry.code)

    ordered = sorted(entries, key=key)
    result: list[tuple[int, Entry]] = []
    for position, entry in enumerate(ordered, start=1):
        if result and key(result[-1][1])[:2] == key(entry)[:2]:
            result.append((result[-1][0], entry))
        else:
            result.append((position, entry))
    return result

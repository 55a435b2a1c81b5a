"""What a new standing does to a milestone already recorded (pure): nothing, or one revision.

A milestone fires once, the first time a union stands at or above its threshold. After that its
record holds what the union was told, and each newer snapshot either agrees (nothing happens) or
changes it, as one revision with a reason:

- ``earlier`` / ``later``: still reached, but on another day (submissions dated earlier arrived
  late; reviews took some out of the count) or with other days ahead;
- ``withdrawn``: the counted total fell back below the threshold (reviews excluded submissions);
- ``restored``: reached again after a withdrawal; a milestone never fires twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.notify.rules import Standing
from shared.contracts.milestone import RevisionReason


@dataclass(frozen=True, slots=True)
class Told:
    """What a milestone's record says now: reached on a day, or withdrawn (``reached_on`` None)."""

    reached_on: date | None
    days_ahead: int | None
    revisions: int


@dataclass(frozen=True, slots=True)
class Revision:
    """One change to a recorded milestone."""

    number: int
    reason: RevisionReason
    previous: Told
    standing: Standing


def reason_for(
    before: date | None, before_ahead: int | None, now: date | None, now_ahead: int | None
) -> RevisionReason | None:
    """Why facts told as (``before``, ``before_ahead``) change to (``now``, ``now_ahead``); None
    when nothing changed (a day of None: not reached)."""
    if before is None and now is None:
        return None
    if before is None:
        return RevisionReason.RESTORED
    if now is None:
        return RevisionReason.WITHDRAWN
    if now != before:
        return RevisionReason.EARLIER if now < before else RevisionReason.LATER
    if now_ahead != before_ahead:
        return (
            RevisionReason.EARLIER
            if (now_ahead or 0) > (before_ahead or 0)
            else RevisionReason.LATER
        )
    return None


def revision(told: Told, standing: Standing) -> Revision | None:
    """The revision ``standing`` makes to a milestone that fired and says ``told``, or None."""
    reason = reason_for(told.reached_on, told.days_ahead, standing.reached_on, standing.days_ahead)
    return None if reason is None else Revision(told.revisions + 1, reason, told, standing)


def after(told: Told, change: Revision) -> Told:
    """What the record says once ``change`` is applied."""
    return Told(change.standing.reached_on, change.standing.days_ahead, change.number)

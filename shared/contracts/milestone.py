"""The milestone family: notify's record that a union reached a milestone."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from shared.contracts.envelope import Message


class MilestoneKind(StrEnum):
    """Kinds of milestone rule."""

    PERCENT_OF_TARGET = "percent_of_target"
    NATIONAL_COUNT = "national_count"
    TARGET_REACHED = "target_reached"


class MilestoneReachedV1(Message):
    """A union reached a milestone; ``milestone_id`` is the same however often it is evaluated."""

    NAME = "milestone.reached"

    milestone_id: str
    union_code: str
    union_name: str
    program: str
    scope: str
    rule_id: str
    kind: MilestoneKind
    threshold: int = Field(ge=0)
    counted: int = Field(ge=0)
    target: int | None = None
    reached_on: date
    days_ahead: int | None = None


class RevisionReason(StrEnum):
    """Why a milestone's facts changed after it fired."""

    EARLIER = "earlier"  # submissions dated earlier arrived late: crossed sooner than told
    LATER = "later"  # submissions taken out of the count (reviews): crossed later than told
    WITHDRAWN = "withdrawn"  # the count fell back below the threshold
    RESTORED = "restored"  # reached again after having been withdrawn


class MilestoneRevisedV1(Message):
    """A milestone that fired has other facts now (late data, reviews); one event per change.

    ``reached_on`` and ``days_ahead`` are the new facts (``reached_on`` is None while the union
    is back under the threshold); ``previous_*`` are the facts the last notice told.
    """

    NAME = "milestone.revised"

    milestone_id: str
    revision: int = Field(ge=1, description="1 for the first change of this milestone, then 2…")
    reason: RevisionReason
    union_code: str
    union_name: str
    program: str
    scope: str
    rule_id: str
    kind: MilestoneKind
    threshold: int = Field(ge=0)
    counted: int = Field(ge=0)
    target: int | None = None
    reached_on: date | None
    days_ahead: int | None = None
    previous_reached_on: date | None
    previous_days_ahead: int | None = None

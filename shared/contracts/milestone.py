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

"""What the review API takes and shows: decisions, the audit trail, the queue and the backlog."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from shared.contracts.submission import ReviewDecision


class DecisionBody(BaseModel):
    """A reviewer's decision on a submission."""

    decision: ReviewDecision
    reason: str | None = Field(
        None, max_length=2000, description="Why; required for `invalid`, kept for every decision."
    )
    duplicate_of: str | None = Field(
        None,
        max_length=36,
        description="The original a `confirmed_duplicate` copies; dedup's best match if omitted.",
    )
    reviewer: str | None = Field(
        None, max_length=200, description="The person deciding, for the audit trail."
    )


class ReviewView(BaseModel):
    """One decision of the audit trail: who, when, why, and the state it replaced."""

    review_id: str
    submission_id: str
    sequence: int
    decision: str
    previous_state: str
    reason: str | None
    duplicate_of: str | None
    reviewer_union: str
    reviewer_name: str | None
    key_id: str
    decided_at: datetime

    @classmethod
    def from_row(cls, row: sa.Row) -> ReviewView:
        """Render a ``reviews`` row."""
        return cls.model_validate(dict(row._mapping))


class MatchView(BaseModel):
    """The earlier submission dedup matched, shown beside a queued one."""

    id: str
    title: str | None
    union_code: str | None
    union_name: str | None
    submitted_on: date | None
    review_state: str | None


class QueueItem(BaseModel):
    """A submission awaiting review."""

    id: str
    union_code: str
    union_name: str
    phase: str
    title: str
    field: str
    benefit_vnd: int
    submitted_on: date
    filed_at: datetime
    age_days: float
    verdict: str | None
    score: float | None
    match: MatchView | None


class QueuePage(BaseModel):
    """A page of the queue; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[QueueItem]
    next_cursor: str | None


class BacklogLine(BaseModel):
    """What awaits review at one union."""

    union_code: str
    union_name: str
    pending: int
    flagged: int
    oldest_filed_at: datetime
    oldest_age_days: float


class Backlog(BaseModel):
    """The review backlog of a subtree, oldest first, with its totals."""

    union_code: str
    pending: int
    flagged: int
    unions: list[BacklogLine]

"""What the API shows of a submission; contact details only to keys allowed to see them."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from shared.contracts.submission import FieldError
from shared.text import NO_CONTROL_PATTERN


class Screening(BaseModel):
    """Dedup's verdict, once it has arrived."""

    verdict: str
    score: float
    best_match_id: str | None
    screened_at: datetime


class AuthorView(BaseModel):
    """The author; phone, e-mail and member id are null unless the key may see contacts."""

    name: str
    member_id: str | None = None
    phone: str | None = None
    email: str | None = None


class SubmissionView(BaseModel):
    """One submission as stored, with its screening and review state."""

    id: str
    client_key: str
    union_code: str
    program: str
    phase: str
    submitted_at: datetime
    local_date: date
    title: str
    field: str
    situation: str
    solution: str
    effect: str
    benefit_vnd: int
    recognition_kind: str
    decision_number: str | None
    decision_date: date | None
    author: AuthorView
    status: str = "received"
    screening: Screening | None
    review_state: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: sa.Row, *, with_contacts: bool) -> SubmissionView:
        """Render a ``submissions`` row."""
        author = AuthorView(name=row.author_name)
        if with_contacts:
            author = AuthorView(
                name=row.author_name,
                member_id=row.author_member_id,
                phone=row.author_phone,
                email=row.author_email,
            )
        screening = None
        if row.verdict is not None:
            screening = Screening(
                verdict=row.verdict,
                score=row.verdict_score,
                best_match_id=row.best_match_id,
                screened_at=row.screened_at,
            )
        data = {k: v for k, v in row._mapping.items() if k in cls.model_fields}
        return cls(**data, author=author, screening=screening)


class BatchItem(BaseModel):
    """One submission of a batch under its own idempotency key."""

    client_key: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_CONTROL_PATTERN,
        description="The item's idempotency key: any text without control characters.",
    )
    submission: dict[str, object] = Field(
        description="A submission as POST /v1/submissions takes it."
    )


class BatchRequest(BaseModel):
    """Up to ``max_batch`` submissions (the service's setting; 1,000 by default)."""

    items: list[BatchItem]


class ItemResult(BaseModel):
    """The result of one batch item: created, replayed, conflict, rejected or forbidden."""

    index: int
    client_key: str
    status: str
    submission_id: str | None = None
    errors: list[FieldError] = []


class BatchResponse(BaseModel):
    """One result per item, in order, and how many ended in each status."""

    results: list[ItemResult]
    summary: dict[str, int]

"""Recording a review decision: the audit row, the submission's new state and its event, at once.

The decision, the submission's state and the ``submission.reviewed.v1`` outbox row are written in
one transaction, so a decision is published exactly once whatever stops the process: the relay
sends what was committed, and the event's id derives from the review's id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.reviewing import (
    DecisionRefused,
    Refusal,
    Standing,
    decide,
)
from services.submission.store import reviews, submissions
from shared.contracts.envelope import derived_message_id
from shared.contracts.submission import ReviewDecision, ReviewedV1
from shared.messaging.outbox import add_to_outbox
from shared.reference.history import Placing


@dataclass(frozen=True)
class Reviewer:
    """Who decides: the key, the union it acts for, and the person named in the request."""

    key_id: str
    union_code: str
    name: str | None


@dataclass(frozen=True)
class DecisionRequest:
    """A decision as a reviewer asks for it."""

    decision: ReviewDecision
    reason: str | None = None
    duplicate_of: str | None = None


async def record_review(
    session: AsyncSession,
    placing: Placing,
    submission: sa.Row,
    reviewer: Reviewer,
    request: DecisionRequest,
    now: datetime,
) -> str:
    """Record ``request`` on ``submission`` (a ``submissions`` row) and return the review's id.

    Raises ``DecisionRefused`` when the rules refuse it, when the named original is unknown, or
    when another decision on the same submission was recorded meanwhile.
    """
    decided = decide(
        Standing(
            submission.id, submission.review_state, submission.verdict, submission.best_match_id
        ),
        request.decision,
        reason=request.reason,
        duplicate_of=request.duplicate_of,
    )
    if decided.duplicate_of is not None and request.duplicate_of is not None:
        await _check_original(session, submission, decided.duplicate_of)
    sequence = submission.review_sequence + 1
    moved = await session.execute(
        submissions.update()
        .where(
            submissions.c.id == submission.id,
            submissions.c.review_sequence == submission.review_sequence,
        )
        .values(review_state=decided.decision.value, review_sequence=sequence, reviewed_at=now)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise DecisionRefused(
            Refusal.CONCURRENT, "another decision on this submission was just recorded; reload"
        )
    review_id = str(uuid.uuid4())
    await session.execute(
        reviews.insert().values(
            review_id=review_id,
            submission_id=submission.id,
            sequence=sequence,
            decision=decided.decision.value,
            previous_state=submission.review_state,
            reason=decided.reason,
            duplicate_of=decided.duplicate_of,
            reviewer_union=reviewer.union_code,
            reviewer_name=reviewer.name,
            key_id=reviewer.key_id,
            decided_at=now,
        )
    )
    await add_to_outbox(
        session,
        ReviewedV1(
            message_id=derived_message_id(review_id, ReviewedV1.routing_key()),
            correlation_id=submission.correlation_id,
            occurred_at=now,
            submission_id=submission.id,
            union_code=submission.union_code,
            union_path=list(placing.filed(submission.union_code, submission.local_date)),
            program=submission.program,
            phase=submission.phase,
            submitted_at=submission.submitted_at,
            local_date=submission.local_date,
            benefit_vnd=submission.benefit_vnd,
            author_key=submission.author_key,
            review_id=review_id,
            sequence=sequence,
            decision=decided.decision,
            duplicate_of=decided.duplicate_of,
            reason=decided.reason,
            reviewer_union=reviewer.union_code,
            decided_at=now,
        ),
    )
    return review_id


async def _check_original(session: AsyncSession, submission: sa.Row, original_id: str) -> None:
    program = await session.scalar(
        sa.select(submissions.c.program).where(submissions.c.id == original_id)
    )
    if program != submission.program:
        raise DecisionRefused(
            Refusal.ORIGINAL_UNKNOWN, f"no submission {original_id} in program {submission.program}"
        )

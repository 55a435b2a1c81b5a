"""Filing submissions: idempotency by the client's key, validation, storage, outbox.

Every path in (one HTTP submission, an HTTP batch, an AMQP command) goes through ``file_batch``,
so they behave the same: the same key and body give the same result, the same key with another
body is a conflict, and an accepted submission is stored together with its
``submission.received.v1`` event in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.reviewing import PENDING
from services.submission.store import path_key, submissions
from services.submission.validation import AcceptedDraft, Limits, validate_draft
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.submission import FieldError, ReceivedV1, SubmissionDraft
from shared.messaging.outbox import add_to_outbox
from shared.reference.catalog import ReferenceData


class Outcome(StrEnum):
    """What became of one submission attempt."""

    CREATED = "created"
    REPLAYED = "replayed"  # the same key and body were filed before: same submission
    CONFLICT = "conflict"  # the same key was used with another body
    REJECTED = "rejected"  # validation refused it; nothing stored


@dataclass(frozen=True)
class IntakePolicy:
    """What filing needs besides the request: reference data, limits, the author-key secret."""

    reference: ReferenceData
    limits: Limits
    author_key_secret: bytes


@dataclass(frozen=True)
class Attempt:
    """One submission to file under the client's idempotency key."""

    client_key: str
    draft: SubmissionDraft
    correlation_id: str | None = None
    command_id: str | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of one attempt."""

    client_key: str
    outcome: Outcome
    submission_id: str | None = None
    errors: tuple[FieldError, ...] = ()


def request_hash(draft: SubmissionDraft) -> str:
    """Fingerprint of a draft as sent, to tell a replay from a reuse of the key."""
    canonical = json.dumps(draft.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def author_key(secret: bytes, draft: SubmissionDraft) -> str:
    """Keyed hash standing for the author in events: the member id, else name within the union."""
    author = draft.author
    identity = author.member_id or f"{draft.union_code}|{author.name.casefold()}"
    return hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:32]


def received_event(
    submission_id: str,
    accepted: AcceptedDraft,
    attempt: Attempt,
    program: str,
    key: str,
    portal: str | None,
) -> ReceivedV1:
    """The ``submission.received.v1`` event of an accepted submission (no contact details),
    addressed to the client's portal when it has one."""
    draft = accepted.draft
    return ReceivedV1(
        message_id=derived_message_id(submission_id, ReceivedV1.routing_key()),
        portal=portal,
        correlation_id=attempt.correlation_id or submission_id,
        occurred_at=utc_now(),
        submission_id=submission_id,
        command_id=attempt.command_id,
        union_code=draft.union_code,
        union_path=list(accepted.union_path),
        program=program,
        phase=accepted.phase.code,
        submitted_at=draft.submitted_at,
        local_date=accepted.local_date,
        benefit_vnd=draft.benefit_vnd,
        author_key=key,
        title=draft.title,
        field=draft.field,
        situation=draft.situation,
        solution=draft.solution,
        effect=draft.effect,
        recognition_kind=draft.recognition.kind,
    )


async def file_batch(
    session: AsyncSession,
    attempts: list[Attempt],
    *,
    client_id: str,
    policy: IntakePolicy,
    now: datetime,
    portal: str | None = None,
) -> list[Result]:
    """File every attempt in the caller's transaction; one result per attempt, in order. The
    received events are addressed to ``portal`` (the client's broker user), if any."""
    keys = {a.client_key for a in attempts}
    earlier = {
        row.client_key: (row.id, row.request_hash)
        for row in await session.execute(
            sa.select(submissions.c.client_key, submissions.c.id, submissions.c.request_hash).where(
                submissions.c.client_id == client_id, submissions.c.client_key.in_(keys)
            )
        )
    }
    results = []
    rows: list[dict[str, object]] = []
    events: list[ReceivedV1] = []
    for attempt in attempts:
        fingerprint = request_hash(attempt.draft)
        if attempt.client_key in earlier:
            submission_id, seen_hash = earlier[attempt.client_key]
            outcome = Outcome.REPLAYED if seen_hash == fingerprint else Outcome.CONFLICT
            results.append(Result(attempt.client_key, outcome, submission_id))
            continue
        checked = validate_draft(attempt.draft, policy.reference, policy.limits, now)
        if isinstance(checked, list):
            results.append(Result(attempt.client_key, Outcome.REJECTED, errors=tuple(checked)))
            continue
        submission_id = str(uuid.uuid4())
        key = author_key(policy.author_key_secret, checked.draft)
        event = received_event(
            submission_id, checked, attempt, policy.reference.program.code, key, portal
        )
        rows.append(_row(submission_id, client_id, attempt, fingerprint, checked, event, now))
        events.append(event)
        earlier[attempt.client_key] = (submission_id, fingerprint)
        results.append(Result(attempt.client_key, Outcome.CREATED, submission_id))
    if rows:  # one statement for the whole batch: compiling one per row costs more than SQLite
        await session.execute(submissions.insert(), rows)
        await add_to_outbox(session, *events)
    return results


def _row(
    submission_id: str,
    client_id: str,
    attempt: Attempt,
    fingerprint: str,
    accepted: AcceptedDraft,
    event: ReceivedV1,
    now: datetime,
) -> dict[str, object]:
    draft = accepted.draft
    return {
        "id": submission_id,
        "client_id": client_id,
        "client_key": attempt.client_key,
        "request_hash": fingerprint,
        "command_id": attempt.command_id,
        "correlation_id": event.correlation_id,
        "union_code": draft.union_code,
        "program": event.program,
        "phase": event.phase,
        "submitted_at": draft.submitted_at,
        "local_date": accepted.local_date,
        "title": draft.title,
        "field": draft.field.value,
        "situation": draft.situation,
        "solution": draft.solution,
        "effect": draft.effect,
        "benefit_vnd": draft.benefit_vnd,
        "recognition_kind": draft.recognition.kind.value,
        "decision_number": draft.recognition.decision_number,
        "decision_date": draft.recognition.decision_date,
        "author_name": draft.author.name,
        "author_member_id": draft.author.member_id,
        "author_phone": draft.author.phone,
        "author_email": draft.author.email,
        "author_key": event.author_key,
        "created_at": now,
        "review_state": PENDING,
        "union_path": path_key(accepted.current_path),
    }

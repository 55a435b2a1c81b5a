"""HTTP routes of the submission service: thin, they authenticate, call intake, shape answers."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from services.submission.auth import ApiClient
from services.submission.context import SubmissionContext
from services.submission.deps import FORBIDDEN, Client, Ctx, covered_submission
from services.submission.intake import Attempt, Outcome, Result, file_batch
from services.submission.metrics import log_filed
from services.submission.schemas import BatchRequest, BatchResponse, ItemResult, SubmissionView
from shared.contracts.envelope import utc_now
from shared.contracts.submission import FieldError, SubmissionDraft, field_errors
from shared.http import ApiError
from shared.text import NO_CONTROL_PATTERN

router = APIRouter(prefix="/v1", tags=["submissions"])


async def _file(ctx: SubmissionContext, who: ApiClient, attempts: list[Attempt]) -> list[Result]:
    for _ in range(2):
        try:
            async with ctx.runtime.sessions() as session, session.begin():
                results = await file_batch(
                    session,
                    attempts,
                    client_id=who.key_id,
                    policy=ctx.policy,
                    now=utc_now(),
                    portal=who.broker_user,
                )
        except IntegrityError:
            continue  # a concurrent request filed the same key first: look again, replay it
        ctx.runtime.relay.wake()
        for result in results:
            log_filed("http", result)
        return results
    raise ApiError(409, "Idempotency-Key", "in_progress", "the same key is being filed right now")


async def _view(ctx: SubmissionContext, who: ApiClient, submission_id: str) -> SubmissionView:
    async with ctx.runtime.sessions() as session:
        row = await covered_submission(session, ctx, who, submission_id)
    return SubmissionView.from_row(row, with_contacts=who.can_see_contacts)


def _outside_scope(ctx: SubmissionContext, who: ApiClient, union_code: str) -> bool:
    """A known union the key does not cover (an unknown one is a validation error instead)."""
    return union_code in ctx.reference.tree and not who.covers(ctx.reference.tree, union_code)


@router.post(
    "/submissions",
    status_code=201,
    response_model=SubmissionView,
    responses={
        200: {"description": "Replay: this key and body were filed before"},
        403: {},
        409: {},
        422: {},
    },
)
async def create_submission(
    draft: SubmissionDraft,
    response: Response,
    ctx: Ctx,
    who: Client,
    idempotency_key: Annotated[
        str,
        Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=NO_CONTROL_PATTERN),
    ],
    correlation_id: Annotated[str | None, Header(alias="X-Correlation-Id", max_length=100)] = None,
) -> SubmissionView:
    """File one initiative. The same key and body give the same answer; another body is a 409."""
    if _outside_scope(ctx, who, draft.union_code):
        raise ApiError(403, "union_code", FORBIDDEN, "your key does not cover this union")
    [result] = await _file(ctx, who, [Attempt(idempotency_key, draft, correlation_id)])
    if result.outcome is Outcome.REJECTED:
        raise ApiError.with_reasons(422, [e.model_dump() for e in result.errors])
    if result.outcome is Outcome.CONFLICT:
        raise ApiError(
            409, "Idempotency-Key", "key_reused", "this key was used for a different submission"
        )
    assert result.submission_id is not None
    if result.outcome is Outcome.REPLAYED:
        response.status_code = 200
    return await _view(ctx, who, result.submission_id)


@router.post("/submissions/batch", response_model=BatchResponse)
async def create_batch(request_body: BatchRequest, ctx: Ctx, who: Client) -> BatchResponse:
    """File many initiatives at once (support teams' uploads), with one result per item."""
    if len(request_body.items) > ctx.settings.max_batch:
        raise ApiError(422, "items", "too_many", f"at most {ctx.settings.max_batch} per batch")
    results: dict[int, ItemResult] = {}
    attempts: list[tuple[int, Attempt]] = []
    for index, item in enumerate(request_body.items):
        try:
            draft = SubmissionDraft.model_validate(item.submission)
        except ValidationError as exc:
            results[index] = ItemResult(
                index=index,
                client_key=item.client_key,
                status=Outcome.REJECTED,
                errors=field_errors(exc),
            )
            continue
        if _outside_scope(ctx, who, draft.union_code):
            results[index] = ItemResult(
                index=index,
                client_key=item.client_key,
                status=FORBIDDEN,
                errors=[
                    FieldError(
                        field="union_code",
                        code=FORBIDDEN,
                        message="your key does not cover this union",
                    )
                ],
            )
            continue
        attempts.append((index, Attempt(item.client_key, draft)))
    if attempts:
        filed = await _file(ctx, who, [attempt for _, attempt in attempts])
        for (index, _), result in zip(attempts, filed, strict=True):
            results[index] = ItemResult(
                index=index,
                client_key=result.client_key,
                status=result.outcome,
                submission_id=result.submission_id,
                errors=list(result.errors),
            )
    ordered = [results[i] for i in sorted(results)]
    return BatchResponse(results=ordered, summary=dict(Counter(r.status for r in ordered)))


@router.get(
    "/submissions/{submission_id}", response_model=SubmissionView, responses={403: {}, 404: {}}
)
async def read_submission(submission_id: str, ctx: Ctx, who: Client) -> SubmissionView:
    """A submission with its status, dedup verdict (once screened) and review state."""
    return await _view(ctx, who, submission_id)

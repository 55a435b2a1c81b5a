"""HTTP routes of reviewing: decisions and their trail, the review queue and backlog, exports.

Reading (queue, backlog, trail, exports) needs a key covering the union; deciding needs a
reviewer's key (``can_review``) covering the submission's union.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from services.submission import review_queue as awaiting_review
from services.submission.deps import Client, Ctx, covered_submission, covered_union
from services.submission.exports import (
    ExportScope,
    UnionNames,
    csv_stream,
    export_chunks,
    file_stream,
    headers,
    write_xlsx,
)
from services.submission.metrics import EXPORTS_SERVED, REVIEWS_DECIDED
from services.submission.review_schemas import (
    Backlog,
    BacklogLine,
    DecisionBody,
    MatchView,
    QueueItem,
    QueuePage,
    ReviewView,
)
from services.submission.reviewing import REQUEST_ERRORS, DecisionRefused
from services.submission.reviews import DecisionRequest, Reviewer, record_review
from services.submission.store import reviews
from shared.contracts.envelope import utc_now
from shared.http import ApiError

router = APIRouter(prefix="/v1", tags=["reviews"])
WHOLE_PROGRAM = "program"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class QueueVerdict(StrEnum):
    """Dedup verdicts to filter the queue by, and ``unscreened`` for those without one yet."""

    NEAR_DUPLICATE = "near_duplicate"
    EXACT_DUPLICATE = "exact_duplicate"
    UNIQUE = "unique"
    UNSCREENED = awaiting_review.UNSCREENED


class ExportFormat(StrEnum):
    """File formats of an export."""

    CSV = "csv"
    XLSX = "xlsx"


def _phase(ctx: Ctx, phase: str | None) -> str | None:
    if phase is None or phase == WHOLE_PROGRAM:
        return None
    if ctx.reference.program.phase(phase) is None:
        raise ApiError(422, "phase", "unknown_phase", f"no phase {phase} in the program")
    return phase


async def _reviews(ctx: Ctx, *where: sa.ColumnElement[bool]) -> list[ReviewView]:
    async with ctx.runtime.sessions() as session:
        rows = await session.execute(sa.select(reviews).where(*where).order_by(reviews.c.sequence))
    return [ReviewView.from_row(row) for row in rows]


@router.post(
    "/submissions/{submission_id}/reviews",
    status_code=201,
    response_model=ReviewView,
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
async def decide(submission_id: str, body: DecisionBody, ctx: Ctx, who: Client) -> ReviewView:
    """Record a decision; it is published as ``submission.reviewed.v1`` and kept in the trail.

    409 when the decision makes no sense in the submission's state (the reason says why).
    """
    async with ctx.runtime.sessions() as session, session.begin():
        row = await covered_submission(session, ctx, who, submission_id)
        if not who.can_review:
            raise ApiError(403, "X-API-Key", "not_a_reviewer", "your key may not record reviews")
        reviewer_union = who.acting_union(ctx.reference.tree, row.union_code)
        assert reviewer_union is not None  # covered_submission checked the key covers it
        try:
            review_id = await record_review(
                session,
                ctx.reference.placing,
                row,
                Reviewer(who.key_id, reviewer_union, body.reviewer),
                DecisionRequest(body.decision, body.reason, body.duplicate_of),
                utc_now(),
            )
        except DecisionRefused as refused:
            REVIEWS_DECIDED.labels(body.decision.value, refused.refusal.value).inc()
            status = 422 if refused.refusal in REQUEST_ERRORS else 409
            raise ApiError(status, "decision", refused.refusal.value, refused.message) from None
    REVIEWS_DECIDED.labels(body.decision.value, "recorded").inc()
    ctx.runtime.relay.wake()
    [recorded] = await _reviews(ctx, reviews.c.review_id == review_id)
    return recorded


@router.get(
    "/submissions/{submission_id}/reviews",
    response_model=list[ReviewView],
    responses={403: {}, 404: {}},
)
async def trail(submission_id: str, ctx: Ctx, who: Client) -> list[ReviewView]:
    """Every decision on a submission, oldest first."""
    async with ctx.runtime.sessions() as session:
        await covered_submission(session, ctx, who, submission_id)
    return await _reviews(ctx, reviews.c.submission_id == submission_id)


@router.get("/reviews/queue", response_model=QueuePage, responses={403: {}, 404: {}, 422: {}})
async def review_queue(
    ctx: Ctx,
    who: Client,
    union: Annotated[str, Query(description="The subtree to list.")],
    phase: Annotated[str | None, Query(description="A phase code, or `program`.")] = None,
    verdict: QueueVerdict | None = None,
    min_age_days: Annotated[
        float | None, Query(ge=0, description="Filed at least so long ago.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> QueuePage:
    """Submissions awaiting review in a subtree: flagged near/exact copies first, then oldest."""
    path = covered_union(ctx, who, union)
    now = utc_now()
    where = awaiting_review.QueueFilter(
        path,
        phase=_phase(ctx, phase),
        verdict=verdict.value if verdict else None,
        filed_before=now - timedelta(days=min_age_days) if min_age_days is not None else None,
    )
    try:
        async with ctx.runtime.sessions() as session:
            rows, next_cursor = await awaiting_review.queue_page(session, where, limit, cursor)
    except awaiting_review.BadCursor as exc:
        raise ApiError(422, "cursor", "bad_cursor", str(exc)) from None
    names = UnionNames(ctx.reference.tree)
    return QueuePage(items=[_queue_item(row, names, now) for row in rows], next_cursor=next_cursor)


def _queue_item(row: sa.Row, names: UnionNames, now: datetime) -> QueueItem:

    match = None
    if row.best_match_id is not None:
        match = MatchView(
            id=row.best_match_id,
            title=row.match_title,
            union_code=row.match_union_code,
            union_name=names.name(row.match_union_code) if row.match_union_code else None,
            submitted_on=row.match_local_date,
            review_state=row.match_review_state,
        )
    return QueueItem(
        id=row.id,
        union_code=row.union_code,
        union_name=names.name(row.union_code),
        phase=row.phase,
        title=row.title,
        field=row.field,
        benefit_vnd=row.benefit_vnd,
        submitted_on=row.local_date,
        filed_at=row.created_at,
        age_days=awaiting_review.age_days(row.created_at, now),
        verdict=row.verdict,
        score=row.verdict_score,
        match=match,
    )


@router.get("/reviews/backlog", response_model=Backlog, responses={403: {}, 404: {}})
async def review_backlog(
    ctx: Ctx, who: Client, union: Annotated[str, Query(description="The subtree to sum up.")]
) -> Backlog:
    """Per union of the subtree: submissions awaiting review, flagged ones, age of the oldest."""
    path = covered_union(ctx, who, union)
    async with ctx.runtime.sessions() as session:
        rows = await awaiting_review.backlog(session, path)
    now = utc_now()
    names = UnionNames(ctx.reference.tree)
    lines = [
        BacklogLine(
            union_code=row.union_code,
            union_name=names.name(row.union_code),
            pending=row.pending,
            flagged=row.flagged,
            oldest_filed_at=row.oldest_filed_at,
            oldest_age_days=awaiting_review.age_days(row.oldest_filed_at, now),
        )
        for row in rows
    ]
    return Backlog(
        union_code=union,
        pending=sum(line.pending for line in lines),
        flagged=sum(line.flagged for line in lines),
        unions=lines,
    )


async def _counted(
    chunks: AsyncIterator[list[list[Any]]], format: ExportFormat
) -> AsyncIterator[list[list[Any]]]:
    async for chunk in chunks:
        EXPORTS_SERVED.labels(format.value).inc(len(chunk))
        yield chunk


@router.get(
    "/exports/submissions",
    responses={
        200: {"content": {"text/csv": {}, XLSX: {}}, "description": "The export as a file."},
        403: {},
        404: {},
        422: {},
    },
)
async def export_submissions(
    ctx: Ctx,
    who: Client,
    union: Annotated[str, Query(description="The subtree to export.")],
    phase: Annotated[str, Query(description="A phase code, or `program`.")] = WHOLE_PROGRAM,
    format: ExportFormat = ExportFormat.CSV,
) -> StreamingResponse:
    """Every submission of a subtree for a phase or the program, for a federation's report.

    Authors' contact columns only for keys allowed to see contacts.
    """
    scope = ExportScope(covered_union(ctx, who, union), _phase(ctx, phase), who.can_see_contacts)
    header = headers(scope)
    chunks = _counted(export_chunks(ctx.runtime.sessions, ctx.reference.tree, scope), format)
    filename = f"sang-kien_{union}_{phase}.{format.value}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format is ExportFormat.CSV:
        return StreamingResponse(
            csv_stream(chunks, header),
            media_type="text/csv; charset=utf-8",
            headers=disposition,
        )
    folder = Path(tempfile.mkdtemp(prefix="export-"))
    try:
        await write_xlsx(chunks, header, folder / filename, title=union)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    size = (folder / filename).stat().st_size
    return StreamingResponse(
        file_stream(folder / filename),
        media_type=XLSX,
        headers={**disposition, "Content-Length": str(size)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )

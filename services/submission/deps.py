"""What the routes of the submission service depend on: the context, the caller, its reach."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.auth import ApiClient
from services.submission.context import SubmissionContext
from services.submission.store import submissions
from shared.http import ApiError, require_key

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Portal client key: skp_<id>_<secret>"
)
FORBIDDEN = "forbidden"


def context(request: Request) -> SubmissionContext:
    """The service's composition root, set on the app at start-up."""
    ctx: SubmissionContext = request.app.state.ctx
    return ctx


async def client(
    ctx: Annotated[SubmissionContext, Depends(context)],
    key: Annotated[str | None, Security(api_key_header)],
) -> ApiClient:
    """The authenticated portal client; 401 for a missing, wrong, expired or revoked key."""
    return await require_key(ctx.keys, ctx.runtime.sessions, key)


Ctx = Annotated[SubmissionContext, Depends(context)]
Client = Annotated[ApiClient, Depends(client)]


async def covered_submission(
    session: AsyncSession, ctx: SubmissionContext, who: ApiClient, submission_id: str
) -> sa.Row:
    """The submission's row: 404 when there is none, 403 when it lies outside the key's unions."""
    row = (
        await session.execute(sa.select(submissions).where(submissions.c.id == submission_id))
    ).first()
    if row is None:
        raise ApiError(404, "submission_id", "not_found", "no such submission")
    if not who.covers(ctx.reference.tree, row.union_code):
        raise ApiError(403, "submission_id", FORBIDDEN, "the submission is outside your unions")
    return row


def covered_union(ctx: SubmissionContext, who: ApiClient, union_code: str) -> tuple[str, ...]:
    """The path of a union the key covers: 404 for an unknown union, 403 outside the key's."""
    if union_code not in ctx.reference.tree:
        raise ApiError(404, "union", "unknown_union", f"no union {union_code}")
    if not who.covers(ctx.reference.tree, union_code):
        raise ApiError(403, "union", FORBIDDEN, "your key does not cover this union")
    return ctx.reference.tree.path(union_code)

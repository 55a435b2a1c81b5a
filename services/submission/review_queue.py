"""The review queue of a union's subtree and its backlog: what awaits a reviewer, flagged first.

A submission awaits review while its state is ``pending``. The queue puts the ones dedup flagged
(near or exact copies) first, then the oldest; it pages by a cursor that names the last item seen,
so a page stays right while reviewers work the queue.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.reviewing import FLAGGING_VERDICTS, PENDING
from services.submission.store import in_subtree, submissions

UNSCREENED = "unscreened"

_flag_rank = sa.case((submissions.c.verdict.in_(FLAGGING_VERDICTS), 0), else_=1)
_match = submissions.alias("match")


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


@dataclass(frozen=True)
class QueueFilter:
    """Which pending submissions to list: a subtree, and optionally a phase, verdict and age."""

    path: Sequence[str]
    phase: str | None = None
    verdict: str | None = None  # a verdict, or "unscreened"
    filed_before: datetime | None = None


def encode_cursor(row: sa.Row) -> str:
    """The cursor that continues after ``row``."""
    key = [row.flag_rank, row.created_at.isoformat(), row.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, datetime, str]:
    """The position a cursor names; ``BadCursor`` when it is not one of ours."""
    try:
        rank, created_at, submission_id = json.loads(base64.urlsafe_b64decode(cursor))
        return int(rank), datetime.fromisoformat(created_at), str(submission_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("the cursor is not one this service handed out") from exc


def _pending(where: QueueFilter) -> list[sa.ColumnElement[bool]]:
    conditions = [in_subtree(where.path), submissions.c.review_state == PENDING]
    if where.phase is not None:
        conditions.append(submissions.c.phase == where.phase)
    if where.verdict == UNSCREENED:
        conditions.append(submissions.c.verdict.is_(None))
    elif where.verdict is not None:
        conditions.append(submissions.c.verdict == where.verdict)
    if where.filed_before is not None:
        conditions.append(submissions.c.created_at <= where.filed_before)
    return conditions


async def queue_page(
    session: AsyncSession, where: QueueFilter, limit: int, after: str | None
) -> tuple[list[sa.Row], str | None]:
    """One page of the queue and the cursor of the next (None on the last page)."""
    conditions = _pending(where)
    if after is not None:
        rank, created_at, submission_id = decode_cursor(after)
        conditions.append(
            sa.tuple_(_flag_rank, submissions.c.created_at, submissions.c.id)
            > sa.tuple_(
                sa.literal(rank),
                sa.literal(created_at, submissions.c.created_at.type),
                sa.literal(submission_id),
            )
        )
    query = (
        sa.select(
            submissions,
            _flag_rank.label("flag_rank"),
            _match.c.title.label("match_title"),
            _match.c.union_code.label("match_union_code"),
            _match.c.review_state.label("match_review_state"),
            _match.c.local_date.label("match_local_date"),
        )
        .outerjoin(_match, _match.c.id == submissions.c.best_match_id)
        .where(*conditions)
        .order_by(_flag_rank, submissions.c.created_at, submissions.c.id)
        .limit(limit + 1)
    )
    rows = list((await session.execute(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


async def backlog(session: AsyncSession, path: Sequence[str]) -> list[sa.Row]:
    """Per union of the subtree with anything pending: how many, how many flagged, the oldest."""
    query = (
        sa.select(
            submissions.c.union_code,
            sa.func.count().label("pending"),
            sa.func.sum(sa.case((submissions.c.verdict.in_(FLAGGING_VERDICTS), 1), else_=0)).label(
                "flagged"
            ),
            sa.func.min(submissions.c.created_at).label("oldest_filed_at"),
        )
        .where(in_subtree(path), submissions.c.review_state == PENDING)
        .group_by(submissions.c.union_code)
        .order_by(sa.func.min(submissions.c.created_at), submissions.c.union_code)
    )
    return list((await session.execute(query)).all())


def age_days(filed_at: datetime, now: datetime) -> float:
    """Days since ``filed_at``, to one decimal."""
    return round((now - filed_at) / timedelta(days=1), 1)

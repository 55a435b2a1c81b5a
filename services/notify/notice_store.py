"""Notices in the database: grouping queued milestones and corrections into notices, finding the
due ones, what a notice tells, and recording each attempt with the events it causes (one
transaction each)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.messages import Correction, Milestone, one_per_milestone
from services.notify.notices import (
    Attempted,
    NoticeState,
    RetryPolicy,
    after_attempt,
    delivered_event,
    failed_event,
)
from services.notify.store import (
    attempts,
    milestone_revisions,
    milestones,
    notifications,
    pending,
)
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.milestone import MilestoneKind, RevisionReason
from shared.contracts.notification import Channel
from shared.messaging.outbox import add_to_outbox
from shared.reference.catalog import ReferenceData
from shared.reference.targets import PROGRAM_SCOPE


async def group_queued(session: AsyncSession, *, ripe_before: datetime, digest_max: int) -> int:
    """Make one notice of the milestones queued for each (subscription, channel) whose oldest was
    queued before ``ripe_before`` (at most ``digest_max`` each); returns how many were made."""
    groups = await session.execute(
        sa.select(pending.c.subscription_id, pending.c.channel)
        .group_by(pending.c.subscription_id, pending.c.channel)
        .having(sa.func.min(pending.c.queued_at) <= ripe_before)
    )
    made = 0
    for subscription_id, channel in groups.all():
        of_group = (pending.c.subscription_id == subscription_id, pending.c.channel == channel)
        ids = list(
            await session.scalars(
                sa.select(pending.c.milestone_id)
                .where(*of_group)
                .order_by(pending.c.queued_at, pending.c.milestone_id)
                .limit(digest_max)
            )
        )
        now = utc_now()
        await session.execute(
            notifications.insert().values(
                notification_id=derived_message_id(
                    "notice", subscription_id, channel, *sorted(ids)
                ),
                subscription_id=subscription_id,
                channel=channel,
                milestone_ids=ids,
                status=NoticeState.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        await session.execute(pending.delete().where(*of_group, pending.c.milestone_id.in_(ids)))
        made += 1
    return made


async def due_notices(session: AsyncSession, *, busy: list[str], limit: int) -> list[sa.Row]:
    """Pending notices due now, oldest due first, of subscriptions not in ``busy``."""
    query = (
        sa.select(notifications)
        .where(
            notifications.c.status == NoticeState.PENDING,
            notifications.c.next_attempt_at <= utc_now(),
            notifications.c.subscription_id.not_in(busy),
        )
        .order_by(notifications.c.next_attempt_at)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def milestones_of(
    session: AsyncSession, ids: list[str], reference: ReferenceData
) -> list[Milestone]:
    """What a notice tells, in the order the milestones were reached, with the names a reader
    needs: each first notice with its milestone's facts now (a later revision is already in
    them), each correction with the facts of its revision. A first notice of a milestone since
    withdrawn is left out: the union is not told of what it no longer reached."""
    revised = {
        row.revision_id: row
        for row in await session.execute(
            sa.select(milestone_revisions).where(milestone_revisions.c.revision_id.in_(ids))
        )
    }
    wanted = set(ids) - revised.keys() | {row.milestone_id for row in revised.values()}
    rows = {
        row.milestone_id: row
        for row in await session.execute(
            sa.select(milestones).where(milestones.c.milestone_id.in_(wanted))
        )
    }
    told = []
    for item in ids:
        fix = revised.get(item)
        if fix is None:
            row = rows[item]
            if not row.withdrawn:
                told.append(_milestone(row, reference))
            continue
        told.append(_milestone(rows[fix.milestone_id], reference, fix))
    return sorted(one_per_milestone(told), key=lambda m: m.order)


def _milestone(row: sa.Row, reference: ReferenceData, fix: sa.Row | None = None) -> Milestone:
    union = reference.tree.get(row.union_code)
    phase = reference.program.phase(row.scope)
    correction = None
    reached_on, days_ahead, counted, withdrawn = (
        row.reached_on,
        row.days_ahead,
        row.counted,
        row.withdrawn,
    )
    if fix is not None:
        correction = Correction(
            number=fix.number,
            reason=RevisionReason(fix.reason),
            previous_reached_on=fix.previous_reached_on,
            previous_days_ahead=fix.previous_days_ahead,
        )
        withdrawn = fix.reached_on is None
        reached_on = fix.previous_reached_on if withdrawn else fix.reached_on
        days_ahead, counted = fix.days_ahead, fix.counted
    return Milestone(
        milestone_id=row.milestone_id,
        union_code=row.union_code,
        union_name=union.name if union else row.union_code,
        scope=row.scope,
        scope_name="toàn chương trình"
        if row.scope == PROGRAM_SCOPE
        else (phase.name.lower() if phase else row.scope),
        rule_id=row.rule_id,
        kind=MilestoneKind(row.kind),
        threshold=row.threshold,
        counted=counted,
        target=row.target,
        reached_on=reached_on,
        days_ahead=days_ahead,
        withdrawn=withdrawn,
        correction=correction,
    )


@dataclass(frozen=True)
class Recorded:
    """An attempt as logged: its number and the state it left the notice in."""

    number: int
    state: NoticeState


async def record_attempt(
    session: AsyncSession,
    notice: sa.Row,
    *,
    ok: bool,
    detail: str,
    policy: RetryPolicy,
    rng: random.Random,
) -> Recorded | None:
    """Log an attempt of a pending notice and move it on (``notices.after_attempt``), with its
    ``notification.delivered.v1`` or ``.failed.v1`` through the outbox; None when the notice is
    no longer pending (replayed or finished meanwhile by another instance)."""
    current = (
        await session.execute(
            sa.select(notifications.c.attempts, notifications.c.status).where(
                notifications.c.notification_id == notice.notification_id
            )
        )
    ).one()
    if current.status != NoticeState.PENDING:
        return None
    last = await session.scalar(
        sa.select(sa.func.max(attempts.c.number)).where(
            attempts.c.notification_id == notice.notification_id
        )
    )
    now = utc_now()
    attempted = Attempted(
        notification_id=notice.notification_id,
        subscription_id=notice.subscription_id,
        channel=Channel(notice.channel),
        milestone_ids=list(notice.milestone_ids),
        tries=current.attempts + 1,
        number=int(last or 0) + 1,
        at=now,
    )
    await session.execute(
        attempts.insert().values(
            notification_id=notice.notification_id,
            number=attempted.number,
            at=now,
            ok=ok,
            detail=detail[:1000],
        )
    )
    outcome = after_attempt(ok, attempted.tries, policy, rng)
    update: dict[str, object] = {
        "attempts": attempted.tries,
        "last_error": None if ok else detail,
        "status": outcome.state,
    }
    if outcome.state is NoticeState.DELIVERED:
        update["finished_at"] = now
        await add_to_outbox(session, delivered_event(attempted))
    elif outcome.state is NoticeState.FAILED:
        update["finished_at"] = now
        await add_to_outbox(session, failed_event(attempted, detail))
    else:
        assert outcome.retry_in is not None
        update["next_attempt_at"] = now + timedelta(seconds=outcome.retry_in)
    await session.execute(
        notifications.update()
        .where(notifications.c.notification_id == notice.notification_id)
        .values(**update)
    )
    return Recorded(attempted.number, outcome.state)


async def cancel(session: AsyncSession, notification_id: str) -> None:
    """Drop a pending notice whose subscription was deleted after its milestones were queued,
    or that has nothing left to tell (its milestones were withdrawn before it was sent)."""
    await session.execute(
        notifications.update()
        .where(
            notifications.c.notification_id == notification_id,
            notifications.c.status == NoticeState.PENDING,
        )
        .values(status=NoticeState.CANCELLED, finished_at=utc_now())
    )


async def replay(session: AsyncSession, subscription_id: str, notification_id: str) -> bool:
    """Make a failed notice pending again with fresh attempts (same id); False unless it failed."""
    replayed = await session.scalars(
        notifications.update()
        .where(
            notifications.c.notification_id == notification_id,
            notifications.c.subscription_id == subscription_id,
            notifications.c.status == NoticeState.FAILED,
        )
        .values(status=NoticeState.PENDING, attempts=0, next_attempt_at=utc_now(), finished_at=None)
        .returning(notifications.c.notification_id)
    )
    return replayed.first() is not None


async def purge_finished(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` notices finished before ``before`` (delivered, failed for good or
    cancelled) with their attempts: the delivery log keeps what is recent (retention)."""
    finished = (
        await session.scalars(
            sa.select(notifications.c.notification_id)
            .where(notifications.c.finished_at < before)
            .limit(limit)
        )
    ).all()
    if finished:
        await session.execute(attempts.delete().where(attempts.c.notification_id.in_(finished)))
        await session.execute(
            notifications.delete().where(notifications.c.notification_id.in_(finished))
        )
    return len(finished)

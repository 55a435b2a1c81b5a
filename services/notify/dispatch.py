"""Delivering notices: grouping queued milestones per subscriber, sending, retrying, logging.

Every ``tick`` seconds the dispatcher
1. turns the milestones queued for a (subscription, channel) into one notice once the oldest has
   waited ``digest_seconds`` (a burst or a replay becomes one digest, not hundreds of messages);
2. starts the notices that are due, each in its own task with its own timeout, at most one per
   subscription and ``concurrency`` in all, so a slow or failing receiver delays nobody else.

An attempt's outcome is written with the attempt log in one transaction: delivered (and
``notification.delivered.v1``), failed for good after ``max_attempts`` (and
``notification.failed.v1``; kept for replay), or due again after an exponential backoff with
jitter. A process killed during an attempt leaves the notice due: it is sent again after the
restart with the same id, which receivers see as the ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.messages import Milestone
from services.notify.senders import Senders, SendFailed
from services.notify.settings import NotifySettings
from services.notify.store import attempts, milestones, notifications, pending, subscriptions
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.milestone import MilestoneKind
from shared.contracts.notification import Channel, NotificationDeliveredV1, NotificationFailedV1
from shared.messaging.outbox import add_to_outbox
from shared.reference.catalog import ReferenceData
from shared.reference.targets import PROGRAM_SCOPE

log = structlog.get_logger(__name__)
NOTICES = Counter(
    "sangkien_notices_total",
    "Delivery attempts of notices, by channel and outcome.",
    ["channel", "outcome"],
)


def retry_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter (50–100%)."""
    return min(cap, base * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.0)


class Dispatcher:
    """Groups and delivers notices in the background (see the module docstring)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        reference: ReferenceData,
        wake_relay: Callable[[], None],
        tick: float = 0.25,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._reference = reference
        self._wake_relay = wake_relay
        self._tick = tick
        self._senders = Senders(settings)
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # subscription id → its attempt
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()

    def start(self) -> None:
        """Run in the background."""
        self._task = asyncio.create_task(self._run(), name="notify-dispatcher")

    async def stop(self) -> None:
        """Stop starting attempts; cancel the ones running (they are due again after a start)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in self._in_flight.values():
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        await self._senders.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.group_queued()
                await self.start_due()
            except Exception:
                log.exception("dispatch_round_failed")
            await asyncio.sleep(self._tick)

    async def group_queued(self) -> int:
        """Make notices of the queued milestones whose oldest has waited long enough."""
        ripe_before = utc_now() - timedelta(seconds=self._settings.notify_digest_seconds)
        made = 0
        async with self._sessions() as session, session.begin():
            groups = await session.execute(
                sa.select(pending.c.subscription_id, pending.c.channel)
                .group_by(pending.c.subscription_id, pending.c.channel)
                .having(sa.func.min(pending.c.queued_at) <= ripe_before)
            )
            for subscription_id, channel in groups.all():
                ids = list(
                    (
                        await session.scalars(
                            sa.select(pending.c.milestone_id)
                            .where(
                                pending.c.subscription_id == subscription_id,
                                pending.c.channel == channel,
                            )
                            .order_by(pending.c.queued_at, pending.c.milestone_id)
                            .limit(self._settings.notify_digest_max)
                        )
                    ).all()
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
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                await session.execute(
                    pending.delete().where(
                        pending.c.subscription_id == subscription_id,
                        pending.c.channel == channel,
                        pending.c.milestone_id.in_(ids),
                    )
                )
                made += 1
        return made

    async def start_due(self) -> None:
        """Start an attempt for each due notice whose subscription has none running."""
        self._in_flight = {s: t for s, t in self._in_flight.items() if not t.done()}
        room = self._settings.notify_concurrency - len(self._in_flight)
        if room <= 0:
            return
        async with self._sessions() as session:
            due = (
                await session.execute(
                    sa.select(notifications)
                    .where(
                        notifications.c.status == "pending",
                        notifications.c.next_attempt_at <= utc_now(),
                        notifications.c.subscription_id.not_in(list(self._in_flight)),
                    )
                    .order_by(notifications.c.next_attempt_at)
                    .limit(room * 4)
                )
            ).all()
        for notice in due:
            if notice.subscription_id in self._in_flight or room <= 0:
                continue
            self._in_flight[notice.subscription_id] = asyncio.create_task(self._guarded(notice))
            room -= 1

    async def _guarded(self, notice: sa.Row) -> None:
        """An attempt whose unexpected failure is logged; the notice stays due and is retried."""
        try:
            await self._attempt(notice)
        except Exception:
            log.exception("notice_attempt_crashed", notification_id=notice.notification_id)

    async def _attempt(self, notice: sa.Row) -> None:
        async with self._sessions() as session:
            subscription = (
                await session.execute(
                    sa.select(subscriptions).where(
                        subscriptions.c.subscription_id == notice.subscription_id
                    )
                )
            ).one()
            reached = await self._milestones(session, list(notice.milestone_ids))
        if subscription.deleted_at is not None:
            await self._cancel(notice)
            return
        try:
            if notice.channel == Channel.WEBHOOK:
                detail = await self._senders.webhook(
                    subscription.webhook_url,
                    subscription.webhook_secret,
                    notice.notification_id,
                    notice.subscription_id,
                    reached,
                )
            else:
                detail = await self._senders.email(
                    list(subscription.emails), notice.notification_id, reached
                )
            ok = True
        except SendFailed as failure:
            detail, ok = str(failure), False
        await self._record(notice, ok, detail)

    async def _cancel(self, notice: sa.Row) -> None:
        """Drop a notice whose subscription was deleted after its milestones were queued."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                notifications.update()
                .where(
                    notifications.c.notification_id == notice.notification_id,
                    notifications.c.status == "pending",
                )
                .values(status="cancelled", finished_at=utc_now())
            )
        log.info("notice_cancelled", notification_id=notice.notification_id)

    async def _milestones(self, session: AsyncSession, ids: list[str]) -> list[Milestone]:
        rows = {
            row.milestone_id: row
            for row in await session.execute(
                sa.select(milestones).where(milestones.c.milestone_id.in_(ids))
            )
        }
        tree, program = self._reference.tree, self._reference.program
        found = []
        for milestone_id in ids:
            row = rows[milestone_id]
            union = tree.get(row.union_code)
            phase = program.phase(row.scope)
            found.append(
                Milestone(
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
                    counted=row.counted,
                    target=row.target,
                    reached_on=row.reached_on,
                    days_ahead=row.days_ahead,
                )
            )
        return found

    async def _record(self, notice: sa.Row, ok: bool, detail: str) -> None:
        settings = self._settings
        now = utc_now()
        async with self._sessions() as session, session.begin():
            current = (
                await session.execute(
                    sa.select(notifications.c.attempts, notifications.c.status).where(
                        notifications.c.notification_id == notice.notification_id
                    )
                )
            ).one()
            if current.status != "pending":
                return  # replayed or finished meanwhile by another instance
            last = await session.scalar(
                sa.select(sa.func.max(attempts.c.number)).where(
                    attempts.c.notification_id == notice.notification_id
                )
            )
            number = int(last or 0) + 1
            tries = current.attempts + 1
            await session.execute(
                attempts.insert().values(
                    notification_id=notice.notification_id,
                    number=number,
                    at=now,
                    ok=ok,
                    detail=detail[:1000],
                )
            )
            update: dict[str, object] = {"attempts": tries, "last_error": None if ok else detail}
            facts: dict[str, object] = {
                "notification_id": notice.notification_id,
                "subscription_id": notice.subscription_id,
                "channel": Channel(notice.channel),
                "milestone_ids": list(notice.milestone_ids),
                "attempts": tries,
                "correlation_id": notice.notification_id,
                "occurred_at": now,
            }
            if ok:
                update |= {"status": "delivered", "finished_at": now}
                await add_to_outbox(
                    session,
                    NotificationDeliveredV1.model_validate(
                        {
                            **facts,
                            "message_id": derived_message_id(notice.notification_id, "delivered"),
                        }
                    ),
                )
            elif tries >= settings.notify_max_attempts:
                update |= {"status": "failed", "finished_at": now}
                await add_to_outbox(
                    session,
                    NotificationFailedV1.model_validate(
                        {
                            **facts,
                            "message_id": derived_message_id(
                                notice.notification_id, "failed", str(number)
                            ),
                            "last_error": detail[:1000],
                        }
                    ),
                )
            else:
                delay = retry_delay(
                    tries,
                    settings.notify_retry_base_seconds,
                    settings.notify_retry_max_seconds,
                    self._rng,
                )
                update["next_attempt_at"] = now + timedelta(seconds=delay)
            await session.execute(
                notifications.update()
                .where(notifications.c.notification_id == notice.notification_id)
                .values(**update)
            )
        NOTICES.labels(channel=notice.channel, outcome="delivered" if ok else "failed").inc()
        log.info(
            "notice_attempted",
            notification_id=notice.notification_id,
            channel=notice.channel,
            ok=ok,
            attempt=number,
            detail=detail[:200],
        )
        self._wake_relay()

"""Delivering notices in the background: when to group, which notice to try, sending it.

Every ``tick`` seconds the dispatcher
1. turns the milestones queued for a (subscription, channel) into one notice once the oldest has
   waited ``digest_seconds`` (a burst or a replay becomes one digest, not hundreds of messages);
2. starts the notices that are due, each in its own task with its own timeout, at most one per
   subscription and ``concurrency`` in all, so a slow or failing receiver delays nobody else.

Each attempt is recorded with its outcome in one transaction (``notice_store.record_attempt``;
the rules: ``notices``). A process killed during an attempt leaves the notice due: it is sent
again after the restart with the same id, which receivers see as the ``Idempotency-Key``.

Only the replica holding notify's lease dispatches (``shared.lease``), and each of its
transactions is fenced: two replicas never send notices side by side. A replica that loses the
lease cancels its attempts; their notices stay due for the new holder.
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

from services.notify import notice_store
from services.notify.notices import RetryPolicy
from services.notify.senders import Senders, SendFailed
from services.notify.settings import NotifySettings
from services.notify.store import subscriptions
from shared.background import Loop
from shared.contracts.envelope import utc_now
from shared.contracts.notification import Channel
from shared.messaging.inbox import Fence
from shared.reference.live import LiveReference

log = structlog.get_logger(__name__)
NOTICES = Counter(
    "sangkien_notices_total",
    "Delivery attempts of notices, by channel and outcome.",
    ["channel", "outcome"],
)


class Dispatcher:
    """Groups and delivers notices in the background (see the module docstring)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        fence: Fence,
        settings: NotifySettings,
        reference: LiveReference,
        wake_relay: Callable[[], None],
        tick: float = 0.25,
    ) -> None:
        self._sessions = sessions
        self._fence = fence
        self._settings = settings
        self._reference = reference
        self._wake_relay = wake_relay
        self._tick = tick
        self._senders: Senders | None = None
        self._policy = RetryPolicy(
            max_attempts=settings.notify_max_attempts,
            base_seconds=settings.notify_retry_base_seconds,
            max_seconds=settings.notify_retry_max_seconds,
        )
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # subscription id → its attempt
        self._loop = Loop("notify-dispatcher", self._run)
        self._rng = random.Random()

    def start(self) -> None:
        """Run in the background."""
        self._senders = Senders(self._settings)
        self._loop.start()

    async def stop(self) -> None:
        """Stop starting attempts; cancel the ones running (they are due again after a start)."""
        await self._loop.stop()
        for task in self._in_flight.values():
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        self._in_flight = {}
        if self._senders is not None:
            await self._senders.close()
            self._senders = None

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
        async with self._sessions() as session, session.begin():
            await self._fence(session)
            return await notice_store.group_queued(
                session, ripe_before=ripe_before, digest_max=self._settings.notify_digest_max
            )

    async def start_due(self) -> None:
        """Start an attempt for each due notice whose subscription has none running."""
        self._in_flight = {s: t for s, t in self._in_flight.items() if not t.done()}
        room = self._settings.notify_concurrency - len(self._in_flight)
        if room <= 0:
            return
        async with self._sessions() as session:
            due = await notice_store.due_notices(
                session, busy=list(self._in_flight), limit=room * 4
            )
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
            reached = await notice_store.milestones_of(
                session, list(notice.milestone_ids), self._reference.current
            )
        if subscription.deleted_at is not None or not reached:
            async with self._sessions() as session, session.begin():
                await self._fence(session)
                await notice_store.cancel(session, notice.notification_id)
            log.info("notice_cancelled", notification_id=notice.notification_id)
            return
        senders = self._senders
        assert senders is not None, "attempts run only between start and stop"
        try:
            if notice.channel == Channel.WEBHOOK:
                detail = await senders.webhook(
                    subscription.webhook_url,
                    subscription.webhook_secret,
                    notice.notification_id,
                    notice.subscription_id,
                    reached,
                )
            else:
                detail = await senders.email(
                    list(subscription.emails), notice.notification_id, reached
                )
            ok = True
        except SendFailed as failure:
            detail, ok = str(failure), False
        async with self._sessions() as session, session.begin():
            await self._fence(session)
            recorded = await notice_store.record_attempt(
                session, notice, ok=ok, detail=detail, policy=self._policy, rng=self._rng
            )
        if recorded is None:
            return
        NOTICES.labels(channel=notice.channel, outcome="delivered" if ok else "failed").inc()
        log.info(
            "notice_attempted",
            notification_id=notice.notification_id,
            channel=notice.channel,
            ok=ok,
            attempt=recorded.number,
            state=recorded.state,
            detail=detail[:200],
        )
        self._wake_relay()

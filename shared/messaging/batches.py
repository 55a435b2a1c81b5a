"""Consuming a queue in micro-batches: many messages applied in one transaction, acked at once.

FastStream's RabbitMQ subscriber hands over one message at a time and acks each alone, which caps
a consumer near the broker's per-ack rate and makes every message its own transaction. A consumer
whose state is hot (every submission touches the national counters) needs both amortised, so this
one talks to aio-pika directly:

- deliveries are taken in arrival order, up to ``max_batch`` or until ``linger`` seconds pass;
- each is parsed against its contract; one that fails (or that ``vet`` refuses) is published to
  the queue's dead-letter queue with the reason, with confirms, before anything is acked; so is
  one that the handler finds can never be applied (it raises ``PoisonEvents``: its transaction
  is rolled back, those are dead-lettered, and the rest of the batch is committed without them);
- the rest are committed by ``commit``: usually ``apply_new``, which filters them through the
  inbox and applies them in one transaction together with their inbox records and any outbox
  rows (the aggregation service hands them to a ledger process instead);
- then the whole batch is acked with one ``multiple=True`` ack per channel. Batches are processed
  strictly one after another, so a multiple ack never covers a delivery that is not finished.

A crash anywhere before the ack redelivers the batch; the inbox makes the replay harmless. A batch
that fails for another reason than an unreachable database is retried one message at a time, so
that a single bad message is isolated (nacked, and dead-lettered by the delivery limit) instead
of blocking the queue. An unreachable database is waited for as long as it takes, the batch held
unacked: handing it back would only spend its deliveries' delivery limit, and nothing behind it
could be applied anyway. Past ``DATABASE_PATIENCE`` each retry is logged as an error, and the
service's readiness reports the database down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import aio_pika
import sqlalchemy as sa
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from faststream.rabbit import RabbitBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.envelope import Message, utc_now
from shared.contracts.registry import CATALOG, ContractError
from shared.messaging.consumer import (
    DATABASE_PATIENCE,
    DATABASE_UNREACHABLE,
    PAUSE_BEFORE_NACK,
    DeadLetter,
    claimed_schema,
    dead_letter_raw,
)
from shared.messaging.tables import INBOX
from shared.messaging.topology import QueueSpec
from shared.observability import HANDLER_SECONDS, MESSAGES_CONSUMED

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)

# Applies a batch of events (none applied before) in the caller's transaction.
BatchHandler = Callable[[AsyncSession, Sequence[M]], Awaitable[object]]
# Applies a batch of events exactly once (e.g. ``apply_new`` bound to a handler); returns how
# many were new. Raises one of DATABASE_UNREACHABLE while the database cannot be reached.
Commit = Callable[[Sequence[M]], Awaitable[int]]
# A delivery with why it cannot be applied, or with its event.
Parsed = tuple[AbstractIncomingMessage, str, M | None]
# Returns why an event that passed its contract can still never be applied, or None.
Vet = Callable[[M], str | None]


class PoisonEvents(Exception):
    """Raised by a batch handler for events of its batch that can never be applied (say, about
    a submission that does not exist): ``reasons`` maps each one's message id to why."""

    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__("; ".join(reasons.values()))
        self.reasons = reasons


class BatchConsumer(Generic[M]):
    """Consumes one queue in micro-batches (see the module docstring)."""

    def __init__(
        self,
        *,
        broker: RabbitBroker,
        spec: QueueSpec,
        model: type[M],
        commit: Commit[M],
        vet: Vet[M] | None = None,
        after_commit: Callable[[], None] | None = None,
        max_batch: int = 500,
        linger: float = 0.05,
        lock: asyncio.Lock | None = None,
        hold_after_batches: int = 0,
    ) -> None:
        self._broker = broker
        self.spec = spec
        self._model = model
        self._commit_events = commit
        self._vet = vet
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._linger = linger
        self._lock = lock or asyncio.Lock()
        # Deliveries are parsed as they arrive, while the previous batch is in the database.
        self._deliveries: asyncio.Queue[Parsed[M]] = asyncio.Queue()
        self._connection: AbstractRobustConnection | None = None
        self._waiting_for_database = False
        self._task: asyncio.Task[None] | None = None
        self._hold_after = hold_after_batches
        self._committed_batches = 0

    @property
    def connected(self) -> bool:
        """Whether the consumer's connection is open."""
        return self._connection is not None and not self._connection.is_closed

    async def start(self, url: str) -> None:
        """Connect (robustly: consumers come back after a broker restart) and start consuming."""
        self._connection = await aio_pika.connect_robust(
            url, client_properties={"connection_name": f"batch:{self.spec.name}"}
        )
        channel = await self._connection.channel(publisher_confirms=False)
        # Room for two batches: one being applied while the next one arrives.
        await channel.set_qos(prefetch_count=2 * self._max_batch)
        queue = await channel.get_queue(self.spec.name, ensure=False)
        await queue.consume(self._receive)
        self._task = asyncio.create_task(self._run(), name=f"batches:{self.spec.name}")

    async def stop(self) -> None:
        """Finish the batch being applied, then close the connection (unacked ones go back).

        A batch waiting for the database is not finished but abandoned: nothing of it is
        committed, and closing the connection gives its deliveries back."""
        if self._task is not None:
            if self._waiting_for_database:
                self._task.cancel()
            async with self._lock:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            started = time.perf_counter()
            async with self._lock:
                await self._handle(batch)
            HANDLER_SECONDS.labels(queue=self.spec.name).observe(time.perf_counter() - started)

    async def _receive(self, delivery: AbstractIncomingMessage) -> None:
        reason, event = self._parse(delivery)
        self._deliveries.put_nowait((delivery, reason, event))

    async def _next_batch(self) -> list[Parsed[M]]:
        batch = [await self._deliveries.get()]
        deadline = time.monotonic() + self._linger
        while len(batch) < self._max_batch:
            if self._deliveries.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    batch.append(await asyncio.wait_for(self._deliveries.get(), remaining))
                continue
            batch.append(self._deliveries.get_nowait())
        return batch

    async def _handle(self, batch: list[Parsed[M]]) -> None:
        events: list[tuple[AbstractIncomingMessage, M]] = []
        for delivery, reason, event in batch:
            if event is None:
                await self._dead_letter(delivery, reason)
            else:
                events.append((delivery, event))
        while events:
            try:
                await self._commit([event for _, event in events])
                break
            except Exception as error:
                reasons = error.reasons if isinstance(error, PoisonEvents) else {}
                if not any(event.message_id in reasons for _, event in events):
                    log.exception("batch_failed_retrying_one_by_one", queue=self.spec.name)
                    await self._one_by_one(events)
                    break
                for delivery, event in events:
                    if event.message_id in reasons:
                        await self._dead_letter(delivery, reasons[event.message_id])
                events = [(d, e) for d, e in events if e.message_id not in reasons]
        self._committed_batches += 1
        if self._committed_batches == self._hold_after:
            # Crash tests: stop between the commit and the ack, and wait to be killed.
            log.warning("holding_before_ack", queue=self.spec.name, deliveries=len(batch))
            await asyncio.Event().wait()
        await _ack_all([delivery for delivery, _, _ in batch])

    def _parse(self, delivery: AbstractIncomingMessage) -> tuple[str, M | None]:
        try:
            event = CATALOG.parse(
                claimed_schema(delivery.headers, delivery.routing_key), delivery.body, self._model
            )
        except ContractError as error:
            return str(error), None
        if event.message_id != delivery.message_id:
            return "message_id property differs from the body's", None
        reason = self._vet(event) if self._vet is not None else None
        return (reason, None) if reason is not None else ("", event)

    async def _dead_letter(self, delivery: AbstractIncomingMessage, reason: str) -> None:
        letter = DeadLetter(
            body=delivery.body,
            message_id=delivery.message_id,
            correlation_id=delivery.correlation_id,
            headers=dict(delivery.headers or {}),
            routing_key=delivery.routing_key or "",
            content_type=delivery.content_type,
        )
        await dead_letter_raw(self._broker, self.spec, letter, reason)
        MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="dead_lettered").inc()
        log.warning(
            "message_dead_lettered",
            queue=self.spec.name,
            message_id=delivery.message_id,
            reason=reason,
        )

    async def _commit(self, events: Sequence[M]) -> None:
        """Commit the events; an unreachable database is waited for (the deliveries stay unacked
        meanwhile), however long it takes."""
        waited, delay = 0.0, 0.5
        while True:
            try:
                fresh = await self._commit_events(events)
                break
            except DATABASE_UNREACHABLE as unreachable:
                report = log.error if waited >= DATABASE_PATIENCE else log.warning
                report(
                    "database_unavailable_retrying",
                    queue=self.spec.name,
                    error=str(unreachable)[:200],
                    retry_in=delay,
                    waited_seconds=round(waited),
                )
                self._waiting_for_database = True
                try:
                    await asyncio.sleep(delay)
                finally:
                    self._waiting_for_database = False
                waited, delay = waited + delay, min(delay * 2, 10.0)
        MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="processed").inc(fresh)
        MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="duplicate").inc(len(events) - fresh)
        if fresh and self._after_commit is not None:
            self._after_commit()

    async def _one_by_one(self, events: list[tuple[AbstractIncomingMessage, M]]) -> None:
        for delivery, event in events:
            try:
                await self._commit([event])
            except PoisonEvents as poison:
                await self._dead_letter(delivery, str(poison))
            except Exception:
                log.exception(
                    "message_failed_will_retry", queue=self.spec.name, message_id=event.message_id
                )
                MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="retried").inc()
                await asyncio.sleep(PAUSE_BEFORE_NACK)
                # Nacked before the batch's multiple ack, so that ack does not cover it.
                with contextlib.suppress(Exception):
                    await delivery.nack(requeue=True)


async def apply_new(
    sessions: async_sessionmaker[AsyncSession],
    consumer: str,
    events: Sequence[M],
    apply: BatchHandler[M],
) -> int:
    """Apply the events ``consumer`` has not applied before, once each, and record them in the
    inbox, all in one transaction; returns how many were new."""
    async with sessions() as session, session.begin():
        fresh = await _unapplied(session, consumer, events)
        if fresh:
            await apply(session, fresh)
            now = utc_now()
            await session.execute(
                INBOX.insert(),
                [
                    {"consumer": consumer, "message_id": e.message_id, "processed_at": now}
                    for e in fresh
                ],
            )
    return len(fresh)


async def _unapplied(session: AsyncSession, consumer: str, events: Sequence[M]) -> list[M]:
    """The events whose ids the inbox has not seen, each id once (first occurrence)."""
    ids = list(dict.fromkeys(e.message_id for e in events))
    seen = set(
        (
            await session.scalars(
                sa.select(INBOX.c.message_id).where(
                    INBOX.c.consumer == consumer, INBOX.c.message_id.in_(ids)
                )
            )
        ).all()
    )
    fresh: list[M] = []
    for event in events:
        if event.message_id not in seen:
            seen.add(event.message_id)
            fresh.append(event)
    return fresh


async def _ack_all(batch: list[AbstractIncomingMessage]) -> None:
    """Ack the batch with one multiple ack per channel it came on.

    After a reconnection the batch may hold deliveries of the old, closed channel: their ack fails
    and they come back from the broker; the inbox skips them then.
    """
    last_on_channel: dict[int, AbstractIncomingMessage] = {}
    for delivery in batch:
        if not delivery.processed:
            last_on_channel[id(delivery.channel)] = delivery
    for delivery in last_on_channel.values():
        try:
            await delivery.ack(multiple=True)
        except Exception as exc:
            log.warning("batch_ack_failed_will_be_redelivered", error=str(exc)[:200])

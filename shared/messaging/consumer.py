"""Consuming a queue: the one consumer every queue of every service goes through.

Deliveries are taken in arrival order and applied in micro-batches: up to ``max_batch`` of them,
or what arrived within ``linger`` seconds of the first. A queue consumed one message at a time is
a batch of one and takes exactly the same steps:

1. Each delivery is parsed against its contract as it arrives. One that fails, whose
   ``message_id`` property differs from its body's, whose publisher is not the event's owner
   (``publishers``), or that ``vet`` refuses, is *refused*: when
   the consumer has an ``answer`` and the body was JSON with a message id (a command, say), the
   sender is answered through the outbox (``submission.rejected.v1``); otherwise the delivery is
   published to the queue's dead-letter queue with the reason (``shared.messaging.deadletters``).
2. The rest are committed by ``commit`` in one transaction, usually ``apply_new`` (the handler's
   changes, the inbox records and any outbox rows together). A handler that finds events it can
   never apply raises ``PoisonEvents`` naming them: its transaction is rolled back, those are
   dead-lettered with their reasons, and the rest is committed without them.
3. The whole batch is acked, one ``multiple=True`` ack per channel. Batches are processed strictly
   one after another, so a multiple ack never covers an unfinished delivery, and a queue's order
   holds within and across batches.

A crash anywhere before the ack redelivers the batch; the inbox makes the replay harmless.

**Database outage.** An unreachable database is not the messages' fault: the batch is held
unacked and its commit retried with backoff for as long as it takes (handing it back would only
spend its deliveries' delivery limit, and nothing behind it could be applied anyway). Each retry
is logged, as an error past ``DATABASE_PATIENCE`` seconds, and readiness reports the database
down meanwhile. A stop abandons a batch that is waiting: nothing of it is committed and the
broker delivers it again. A replica that lost its lease (``shared.lease``) waits the same way
until its runtime stops the consumer, which hands the batch back for the new holder.

**Any other error** retries the batch one message at a time, so that one bad message is isolated:
a message that still fails is nacked after a pause and, after the queue's delivery limit,
dead-lettered by RabbitMQ itself.

**Supervision.** The consumer's task never ends while the service runs: if it does (a dead letter
the broker would not take, a bug), ``on_failure`` is told which queue and why, and the service
stops being ready and exits (``shared.runtime``). Nothing of the batch in hand was acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractRobustConnection,
    ConsumerTag,
)
from faststream.rabbit import RabbitBroker

from shared.contracts.envelope import Message, body_digest
from shared.contracts.registry import CATALOG, ContractError
from shared.db import database_away
from shared.lease import LeaseLost
from shared.messaging.deadletters import dead_letter
from shared.messaging.inbox import T
from shared.messaging.publishers import DEFAULT_USER, publisher_problem
from shared.messaging.topology import QueueSpec
from shared.observability import HANDLER_SECONDS, MESSAGES_CONSUMED
from shared.retrying import retrying
from shared.text import CONTROL

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)


def wait_and_retry(error: BaseException) -> bool:
    """Whether the batch waits and is tried again, whole: the database is away (not that the
    messages are bad), or this replica lost its lease (it is about to stop consuming; the batch
    then goes back unacked)."""
    return database_away(error) or isinstance(error, LeaseLost)


DATABASE_PATIENCE = 300.0
PAUSE_BEFORE_NACK = 1.0


@dataclass(frozen=True)
class Refusal:
    """A delivery that failed its contract but can be answered: it was JSON with a message id."""

    message_id: str
    correlation_id: str
    error: ContractError
    publisher: str | None = None  # the delivery's AMQP user_id, checked by RabbitMQ
    digest: str = ""  # SHA-256 of the body as delivered


# Applies a batch exactly once (e.g. ``apply_new`` bound to a handler); returns how many were
# new. Raises an error ``shared.db.database_away`` knows while the database cannot be reached.
Commit = Callable[[Sequence[T]], Awaitable[int]]
# Answers refused deliveries exactly once (through the outbox); returns how many were new.
Answer = Commit[Refusal]
# Why an event that passed its contract can still never be applied, or None.
Vet = Callable[[M], str | None]
# Told the queue and the error when a consumer's task ends without a stop.
OnFailure = Callable[[str, BaseException], None]


class PoisonEvents(Exception):
    """Raised by a handler for events of its batch that can never be applied (say, a verdict
    about a submission that does not exist): ``reasons`` maps each one's message id to why."""

    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__("; ".join(reasons.values()))
        self.reasons = reasons


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """A delivery, with its event or why it was refused (and, for a contract error, which)."""

    delivery: AbstractIncomingMessage
    event: M | None
    reason: str = ""
    error: ContractError | None = None


def claimed_schema(headers: Mapping[str, Any] | None, routing_key: str | None) -> str:
    """The ``<event>.v<major>`` a delivery claims: its schema headers, else its routing key."""
    headers = headers or {}
    name, version = headers.get("x-schema"), headers.get("x-schema-version")
    if isinstance(name, str) and isinstance(version, str):
        return f"{name}.v{version.split('.')[0]}"
    return routing_key or ""


class Consumer(Generic[M]):
    """Consumes one queue (see the module docstring)."""

    def __init__(
        self,
        *,
        broker: RabbitBroker,
        spec: QueueSpec,
        model: type[M],
        commit: Commit[M],
        max_batch: int,
        linger: float = 0.05,
        vet: Vet[M] | None = None,
        answer: Answer | None = None,
        after_commit: Callable[[], None] | None = None,
        lock: asyncio.Lock | None = None,
        on_failure: OnFailure | None = None,
        own_user: str = DEFAULT_USER,
    ) -> None:
        self._broker = broker
        self._own_user = own_user
        self.spec = spec
        self._model = model
        self._commit_events = commit
        self._max_batch = max_batch
        self._linger = linger
        self._vet = vet
        self._answer = answer
        self._after_commit = after_commit
        self._lock = lock or asyncio.Lock()
        self._on_failure = on_failure
        # Deliveries are parsed as they arrive, while the previous batch is in the database.
        self._deliveries: asyncio.Queue[Parsed[M]] = asyncio.Queue()
        self._channel: AbstractChannel | None = None
        self._tag: ConsumerTag | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiting_for_database = False
        self._stopping = False

    @property
    def started(self) -> bool:
        """Whether ``start`` has been called (and ``stop`` not since)."""
        return self._task is not None

    @property
    def prefetch(self) -> int:
        """Unacked deliveries the broker may hand over: one batch being applied, the next
        arriving."""
        return 2 * self._max_batch

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Consume on a channel of its own of ``connection`` (robust: the consumer comes back
        after a broker restart)."""
        self._deliveries = asyncio.Queue()  # none left from a channel closed by a stop
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.prefetch)
        # Declared (passively) rather than merely named: only a queue declared on a robust
        # channel is restored, with its consumer, when the connection comes back.
        queue = await channel.declare_queue(self.spec.name, passive=True)
        self._channel = channel
        self._tag = await queue.consume(self._receive)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.spec.name}")
        self._task.add_done_callback(self._ended)

    async def stop(self) -> None:
        """Finish the batch being applied, then close the channel (unacked ones go back).

        A batch waiting for the database is not finished but abandoned: nothing of it is
        committed, and closing the channel gives its deliveries back."""
        self._stopping = True
        if self._task is not None:
            if self._waiting_for_database:
                self._task.cancel()
            async with self._lock:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
            self._channel = None

    async def problem(self) -> str | None:
        """Why this consumer is not consuming, or None: its task ended, its channel closed, or
        the broker cancelled it (a deleted queue, a node gone) without it coming back."""
        if self._task is None or self._channel is None or self._tag is None:
            return "not started"
        if self._task.done():
            return f"stopped: {self._failure_of(self._task)}"
        try:
            # A robust channel waits here while its connection is being recovered.
            async with asyncio.timeout(1.0):
                underlay = cast(aiormq.Channel, await self._channel.get_underlay_channel())
        except (TimeoutError, aiormq.exceptions.AMQPError):
            return "channel not open (reconnecting)"
        if underlay.is_closed:
            return "channel closed"
        if self._tag not in underlay.consumers:
            return "not registered on the broker (cancelled)"
        return None

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping:
            return
        error = task.exception() if not task.cancelled() else asyncio.CancelledError()
        failure = error or RuntimeError("the consumer's task returned")
        log.error("consumer_stopped", queue=self.spec.name, error=repr(failure)[:500])
        if self._on_failure is not None:
            self._on_failure(self.spec.name, failure)

    @staticmethod
    def _failure_of(task: asyncio.Task[None]) -> str:
        if task.cancelled():
            return "cancelled"
        return repr(task.exception())[:300]

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            started = time.perf_counter()
            async with self._lock:
                await self._handle(batch)
            HANDLER_SECONDS.labels(queue=self.spec.name).observe(time.perf_counter() - started)

    async def _receive(self, delivery: AbstractIncomingMessage) -> None:
        self._deliveries.put_nowait(self._parse(delivery))

    def _parse(self, delivery: AbstractIncomingMessage) -> Parsed[M]:
        try:
            event = CATALOG.parse(
                claimed_schema(delivery.headers, delivery.routing_key), delivery.body, self._model
            )
        except ContractError as error:
            return Parsed(delivery, None, str(error), error)
        if event.message_id != delivery.message_id:
            return Parsed(delivery, None, "message_id property differs from the body's")
        event.delivered(delivery.user_id, delivery.body)
        reason = publisher_problem(event.routing_key(), delivery.user_id, self._own_user)
        if reason is None and self._vet is not None:
            reason = self._vet(event)
        return Parsed(delivery, None, reason) if reason is not None else Parsed(delivery, event)

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
        answerable: list[Parsed[M]] = []
        for parsed in batch:
            if parsed.event is None and self._answerable(parsed):
                answerable.append(parsed)
            elif parsed.event is None:
                await self._dead_letter(parsed.delivery, parsed.reason)
        if answerable:
            assert self._answer is not None
            await self._settle(self._answer, [self._refusal(p) for p in answerable], answerable)
            for parsed in answerable:
                log.warning(
                    "message_refused",
                    queue=self.spec.name,
                    message_id=parsed.delivery.message_id,
                    correlation_id=parsed.delivery.correlation_id,
                    reason=parsed.reason,
                )
        accepted = [parsed for parsed in batch if parsed.event is not None]
        await self._settle(self._commit_events, [p.event for p in accepted], accepted)
        await _ack_all([parsed.delivery for parsed in batch])

    def _answerable(self, parsed: Parsed[M]) -> bool:
        # A body that is not even JSON is a broken publisher: operators see it in the DLQ.
        # An answer carries the command's id: one that could not be stored goes to the DLQ.
        message_id = parsed.delivery.message_id or ""
        return (
            self._answer is not None
            and parsed.error is not None
            and parsed.error.code != "malformed_json"
            and bool(message_id)
            and not CONTROL.search(message_id)
        )

    @staticmethod
    def _refusal(parsed: Parsed[M]) -> Refusal:
        delivery = parsed.delivery
        assert delivery.message_id is not None and parsed.error is not None
        return Refusal(
            delivery.message_id,
            delivery.correlation_id or delivery.message_id,
            parsed.error,
            publisher=delivery.user_id,
            digest=body_digest(delivery.body),
        )

    async def _settle(
        self, commit: Commit[Any], items: Sequence[Any], parsed: Sequence[Parsed[M]]
    ) -> None:
        """Commit ``items`` (one per delivery of ``parsed``), dead-lettering the poison among
        them; a batch failing otherwise is retried one item at a time."""
        pending = list(zip(parsed, items, strict=True))
        while pending:
            try:
                await self._commit(commit, [item for _, item in pending])
                return
            except Exception as error:
                reasons = error.reasons if isinstance(error, PoisonEvents) else {}
                poison = [(p, i) for p, i in pending if i.message_id in reasons]
                if not poison:
                    log.exception("batch_failed_retrying_one_by_one", queue=self.spec.name)
                    await self._one_by_one(commit, pending)
                    return
                for p, item in poison:
                    await self._dead_letter(p.delivery, reasons[item.message_id])
                pending = [(p, i) for p, i in pending if i.message_id not in reasons]

    async def _commit(self, commit: Commit[Any], items: Sequence[Any]) -> None:
        """Commit, waiting out an unreachable database however long it takes."""
        try:
            async for attempt in retrying(
                "database_unavailable_retrying",
                on=wait_and_retry,
                escalate_after=DATABASE_PATIENCE,
                on_retry=lambda _: setattr(self, "_waiting_for_database", True),
                queue=self.spec.name,
            ):
                with attempt:
                    fresh = await commit(items)
        finally:
            self._waiting_for_database = False
        outcome = "rejected" if commit is self._answer else "processed"
        MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome=outcome).inc(fresh)
        MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="duplicate").inc(len(items) - fresh)
        if fresh and self._after_commit is not None:
            self._after_commit()

    async def _one_by_one(
        self, commit: Commit[Any], pending: Sequence[tuple[Parsed[M], Any]]
    ) -> None:
        for parsed, item in pending:
            try:
                await self._commit(commit, [item])
            except PoisonEvents as poison:
                await self._dead_letter(parsed.delivery, str(poison))
            except Exception:
                log.exception(
                    "message_failed_will_retry", queue=self.spec.name, message_id=item.message_id
                )
                MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="retried").inc()
                await asyncio.sleep(PAUSE_BEFORE_NACK)
                # Nacked before the batch's multiple ack, so that ack does not cover it.
                with contextlib.suppress(Exception):
                    await parsed.delivery.nack(requeue=True)

    async def _dead_letter(self, delivery: AbstractIncomingMessage, reason: str) -> None:
        await dead_letter(self._broker, self.spec, delivery, reason, self._own_user)
        MESSAGES_CONSUMED.labels(queue=self.spec.name, outcome="dead_lettered").inc()
        log.warning(
            "message_dead_lettered",
            queue=self.spec.name,
            message_id=delivery.message_id,
            correlation_id=delivery.correlation_id,
            reason=reason,
        )


def _open_channel(delivery: AbstractIncomingMessage) -> aiormq.abc.AbstractChannel | None:
    """The channel ``delivery`` came on, or None once it has closed (the broker then hands the
    delivery back: it can no longer be acked)."""
    try:
        return delivery.channel
    except aiormq.exceptions.ChannelInvalidStateError:
        return None


async def _ack_all(batch: list[AbstractIncomingMessage]) -> None:
    """Ack the batch with one multiple ack per channel it came on.

    A connection lost mid-batch, or a reconnection, leaves deliveries of a closed channel in
    the batch: they cannot be acked and come back from the broker; the inbox skips them then.
    """
    last_on_channel: dict[int, AbstractIncomingMessage] = {}
    for delivery in batch:
        channel = _open_channel(delivery)
        if channel is not None and not delivery.processed:
            last_on_channel[id(channel)] = delivery
    for delivery in last_on_channel.values():
        try:
            await delivery.ack(multiple=True)
        except Exception as exc:
            log.warning("batch_ack_failed_will_be_redelivered", error=str(exc)[:200])

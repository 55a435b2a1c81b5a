"""Subscribing a service's handler to one of its queues, with the reliability rules applied.

For each delivery: the body is parsed against the contract; the handler's state change, the inbox
record and any outgoing events commit in one transaction; only then is the message acked. A message
that no contract accepts, or that the handler declares poison, goes to the queue's dead-letter
queue with the reason in its headers, and consumption goes on. Any other error (a database
briefly unavailable, say) is nacked for redelivery, up to the queue's delivery limit.

A database that cannot be reached is not the message's fault: the same delivery is retried in
place with backoff (the delivery count does not move) for up to ``DATABASE_PATIENCE`` seconds,
so that an outage of the database does not dead-letter good messages. Other errors wait a moment
before the nack, so that a bug does not spin through the delivery limit in milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.message import RabbitMessage as RabbitMessageType
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.envelope import Message
from shared.contracts.registry import CATALOG, ContractError
from shared.messaging.inbox import already_processed, record_processed
from shared.messaging.outbox import OutboxRelay
from shared.messaging.topology import DEAD_LETTER_EXCHANGE, QueueSpec
from shared.observability import HANDLER_SECONDS, MESSAGES_CONSUMED, correlation

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)
DATABASE_PATIENCE = 300.0
PAUSE_BEFORE_NACK = 1.0
# Errors that mean the database cannot be reached right now, not that the message is bad.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError, OSError)

# A handler may return a callback to run once its transaction has committed (e.g. to update an
# in-memory index that must never hold what the database does not).
AfterCommit = Callable[[], None]
Handler = Callable[[AsyncSession, M], Awaitable[AfterCommit | None]]
# Called in a transaction when a delivery fails its contract; returns True when it answered the
# sender itself (e.g. with submission.rejected.v1 through the outbox) instead of dead-lettering.
ContractErrorHandler = Callable[[AsyncSession, RabbitMessageType, ContractError], Awaitable[bool]]


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never be applied; it is dead-lettered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _raw_body(message: Any) -> bytes:
    """Decoder that hands the handler the undecoded body, so bad JSON reaches our own checks."""
    return bytes(message.body)


def claimed_schema(headers: Mapping[str, Any] | None, routing_key: str | None) -> str:
    """The ``<event>.v<major>`` a delivery claims: its schema headers, else its routing key."""
    headers = headers or {}
    name, version = headers.get("x-schema"), headers.get("x-schema-version")
    if isinstance(name, str) and isinstance(version, str):
        return f"{name}.v{version.split('.')[0]}"
    return routing_key or ""


async def dead_letter(
    broker: RabbitBroker, spec: QueueSpec, message: RabbitMessageType, reason: str
) -> None:
    """Move a delivery to ``spec``'s dead-letter queue with ``reason`` (confirmed, mandatory)."""
    await dead_letter_raw(
        broker,
        spec,
        DeadLetter(
            body=message.body,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            headers=dict(message.headers or {}),
            routing_key=message.raw_message.routing_key or "",
            content_type=message.content_type or None,
        ),
        reason,
    )


@dataclass(frozen=True)
class DeadLetter:
    """What is kept of a delivery that goes to a dead-letter queue."""

    body: bytes
    message_id: str | None
    correlation_id: str | None
    headers: dict[str, Any]
    routing_key: str
    content_type: str | None


async def dead_letter_raw(
    broker: RabbitBroker, spec: QueueSpec, letter: DeadLetter, reason: str
) -> None:
    """Publish ``letter`` to ``spec``'s dead-letter queue with the reason in its headers."""
    headers = {
        **letter.headers,
        "x-dead-letter-reason": reason[:1000],
        "x-dead-letter-queue": spec.name,
        "x-original-routing-key": letter.routing_key,
    }
    await broker.publish(
        letter.body,
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=spec.name,
        mandatory=True,
        persist=True,
        message_id=letter.message_id,
        correlation_id=letter.correlation_id,
        headers=headers,
        content_type=letter.content_type,
    )


def subscribe(
    broker: RabbitBroker,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    spec: QueueSpec,
    model: type[M],
    handle: Handler[M],
    *,
    prefetch: int,
    on_contract_error: ContractErrorHandler | None = None,
) -> None:
    """Consume ``spec``'s queue as ``model`` messages, applying each once through ``handle``."""

    @broker.subscriber(
        spec.queue(),
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_body,
        title=spec.name,
    )
    async def _consume(body: bytes, message: RabbitMessage) -> None:
        started = time.perf_counter()
        message_id = message.message_id or ""
        with correlation(message.correlation_id or message_id, message_id=message_id):
            outcome = await _apply(body, message)
        MESSAGES_CONSUMED.labels(queue=spec.name, outcome=outcome).inc()
        HANDLER_SECONDS.labels(queue=spec.name).observe(time.perf_counter() - started)

    async def _apply(body: bytes, message: RabbitMessageType) -> str:
        try:
            event = CATALOG.parse(
                claimed_schema(message.headers, message.raw_message.routing_key), body, model
            )
        except ContractError as error:
            return await _refuse(message, error)
        if event.message_id != message.message_id:
            return await _poison(message, "message_id property differs from the body's")
        waited, delay = 0.0, 0.5
        while True:
            try:
                async with sessions() as session, session.begin():
                    if await already_processed(session, spec.name, event.message_id):
                        return "duplicate"
                    after_commit = await handle(session, event)
                    await record_processed(session, spec.name, event.message_id)
            except PoisonMessage as poison:
                return await _poison(message, poison.reason)
            except DATABASE_UNREACHABLE as unreachable:
                if waited >= DATABASE_PATIENCE:
                    raise
                log.warning(
                    "database_unavailable_retrying",
                    queue=spec.name,
                    error=str(unreachable)[:200],
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                waited, delay = waited + delay, min(delay * 2, 10.0)
                continue
            except Exception:
                log.exception("message_failed_will_retry", queue=spec.name)
                MESSAGES_CONSUMED.labels(queue=spec.name, outcome="retried").inc()
                await asyncio.sleep(PAUSE_BEFORE_NACK)
                raise
            break
        if after_commit is not None:
            after_commit()
        relay.wake()
        return "processed"

    async def _refuse(message: RabbitMessageType, error: ContractError) -> str:
        if on_contract_error is not None and message.message_id:
            async with sessions() as session, session.begin():
                if await already_processed(session, spec.name, message.message_id):
                    return "duplicate"
                answered = await on_contract_error(session, message, error)
                if answered:
                    await record_processed(session, spec.name, message.message_id)
            if answered:
                relay.wake()
                log.warning("message_refused", queue=spec.name, reason=str(error))
                return "rejected"
        return await _poison(message, str(error))

    async def _poison(message: RabbitMessageType, reason: str) -> str:
        await dead_letter(broker, spec, message, reason)
        log.warning("message_dead_lettered", queue=spec.name, reason=reason)
        return "dead_lettered"

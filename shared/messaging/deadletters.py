"""Moving a delivery that can never be applied to its queue's dead-letter queue, with the reason."""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage
from faststream.rabbit import RabbitBroker

from shared.messaging.topology import DEAD_LETTER_EXCHANGE, QueueSpec


async def dead_letter(
    broker: RabbitBroker,
    spec: QueueSpec,
    delivery: AbstractIncomingMessage,
    reason: str,
    user_id: str,
) -> None:
    """Publish ``delivery`` to ``spec``'s dead-letter queue, confirmed and mandatory, keeping its
    body, ids and headers and adding why (``x-dead-letter-reason``), from which queue and with
    which routing key, and who published it (``x-original-user-id``); ``user_id`` is the
    consumer's own broker user. Raises when the broker does not take it (the caller must not
    ack)."""
    headers = {
        **(delivery.headers or {}),
        "x-dead-letter-reason": reason[:1000],
        "x-dead-letter-queue": spec.name,
        "x-original-routing-key": delivery.routing_key or "",
        "x-original-user-id": delivery.user_id or "",
    }
    await broker.publish(
        delivery.body,
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=spec.name,
        mandatory=True,
        persist=True,
        message_id=delivery.message_id,
        correlation_id=delivery.correlation_id,
        user_id=user_id,
        headers=headers,
        content_type=delivery.content_type,
    )

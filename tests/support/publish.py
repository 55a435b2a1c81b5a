"""Publishing raw messages the way a portal (or a broken publisher) would."""

from __future__ import annotations

import json
from typing import Any

import aio_pika

from shared.contracts.envelope import utc_now
from shared.messaging.publishers import broker_user


async def publish_raw(
    url: str,
    routing_key: str,
    body: bytes,
    *,
    message_id: str | None,
    headers: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """Publish ``body`` on the events exchange, persistent, waiting for the confirm."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("sangkien.events")
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                correlation_id=correlation_id,
                headers=headers or {},
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=broker_user(url),
            ),
            routing_key=routing_key,
            mandatory=True,
        )


def submit_command(message_id: str, submission: dict[str, Any], **extra: Any) -> bytes:
    """A ``submission.submit.v1`` body."""
    return json.dumps(
        {
            "message_id": message_id,
            "correlation_id": f"corr-{message_id}",
            "occurred_at": utc_now().isoformat(),
            "submission": submission,
            **extra,
        }
    ).encode()


async def take_messages(url: str, queue: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """Take ``expected`` messages from a queue (a dead-letter queue, say), polling for them."""
    from shared.polling import poll

    connection = await aio_pika.connect(url)
    taken: list[Any] = []
    async with connection:
        channel = await connection.channel()
        dlq = await channel.get_queue(queue, ensure=True)

        async def take() -> int:
            message = await dlq.get(no_ack=True, fail=False)
            if message is not None:
                taken.append(message)
            return len(taken)

        await poll(take, lambda n: n >= expected, timeout, f"{expected} dead letters in {queue}")
    return taken


async def queue_depths(url: str, queues: list[str]) -> dict[str, int]:
    """Messages ready in each queue (declared passively: they must exist)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        depths = {}
        for name in queues:
            queue = await channel.declare_queue(name, passive=True)
            depths[name] = queue.declaration_result.message_count or 0
        return depths

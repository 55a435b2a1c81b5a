"""A private queue on the events exchange that records what is routed to it: each event it
names, whatever portal it is addressed to."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika

from shared.messaging.consumer import claimed_schema
from shared.messaging.publishers import broker_user
from shared.messaging.topology import every_address
from shared.polling import poll


@dataclass
class Delivery:
    """One message seen by a tap: ``routing_key`` is its event's (``address`` the key it was
    published with, which names a portal for an outcome)."""

    routing_key: str
    message_id: str | None
    correlation_id: str | None
    headers: dict[str, Any]
    body: dict[str, Any]  # empty when the body is not a JSON object
    raw: bytes
    address: str = ""


@dataclass
class Tap:
    """A private queue bound to routing keys, recording what the exchange routes to it."""

    url: str
    routing_keys: tuple[str, ...]
    exchange: str = "sangkien.events"
    on_delivery: Callable[[Delivery], None] | None = None  # called for each; then nothing is kept
    seen: list[Delivery] = field(default_factory=list)
    _connection: Any = None
    _exchange: Any = None

    async def __aenter__(self) -> Tap:
        self._connection = await aio_pika.connect_robust(self.url)
        channel = await self._connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._exchange = exchange
        queue = await channel.declare_queue(exclusive=True)
        for key in self.routing_keys:
            await queue.bind(exchange, every_address(key))
        await queue.consume(self._record, no_ack=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def _record(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            body = json.loads(message.body)
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        delivery = Delivery(
            claimed_schema(message.headers, message.routing_key),
            message.message_id,
            message.correlation_id,
            dict(message.headers),
            body,
            message.body,
            address=message.routing_key or "",
        )
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        else:
            self.seen.append(delivery)

    async def publish(self, routing_key: str, body: bytes, message_id: str) -> None:
        """Publish a persistent JSON message as a portal would, waiting for the confirm."""
        name, _, version = routing_key.rpartition(".v")
        await self._exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                correlation_id=message_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"x-schema": name, "x-schema-version": f"{version}.0"},
                user_id=broker_user(self.url),
            ),
            routing_key=routing_key,
            mandatory=True,
        )

    def matching(self, predicate: Callable[[Delivery], bool]) -> list[Delivery]:
        """Deliveries seen so far that satisfy ``predicate``."""
        return [d for d in self.seen if predicate(d)]

    async def wait_for(
        self, predicate: Callable[[Delivery], bool], count: int = 1, timeout: float = 30.0
    ) -> list[Delivery]:
        """Poll until ``count`` matching deliveries were seen; fail at the deadline."""
        return await poll(
            lambda: self.matching(predicate),
            lambda found: len(found) >= count,
            timeout,
            f"{count} deliveries on {self.routing_keys}",
        )

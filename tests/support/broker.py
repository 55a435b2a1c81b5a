"""The private RabbitMQ node of the test session, isolated per test by virtual host."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika

from shared.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "rabbitmq.sh"


class PrivateRabbit:
    """A node started by ``scripts/rabbitmq.sh`` (or an existing broker, if a URL is given)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _script(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [str(SCRIPT), *args], capture_output=True, text=True, timeout=180, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmq.sh {' '.join(args)} failed: {done.stderr}{done.stdout}")
        return done.stdout

    def start(self) -> None:
        """Start the node and wait until it is ready."""
        self._script("start", str(self.port))

    def stop(self) -> None:
        """Stop the node cleanly."""
        self._script("stop", str(self.port), check=False)

    def ctl(self, *args: str) -> str:
        """Run rabbitmqctl against the node."""
        return self._script("ctl", str(self.port), *args)

    def new_vhost(self) -> str:
        """A fresh virtual host with full permissions for guest; returns its AMQP URL."""
        vhost = f"t-{uuid.uuid4().hex[:10]}"
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def queue_depths(self, url: str) -> dict[str, int]:
        """Ready + unacknowledged messages per queue of the URL's virtual host."""
        vhost = url.rsplit("/", 1)[1]
        out = self.ctl("list_queues", "-p", vhost, "--formatter", "json", "name", "messages")
        return {row["name"]: int(row["messages"]) for row in json.loads(out or "[]")}


@dataclass
class Delivery:
    """One message seen by a tap."""

    routing_key: str
    message_id: str | None
    correlation_id: str | None
    headers: dict[str, Any]
    body: dict[str, Any]  # empty when the body is not a JSON object
    raw: bytes


@dataclass
class Tap:
    """A private queue bound to routing keys, recording what the exchange routes to it."""

    url: str
    routing_keys: tuple[str, ...]
    exchange: str = "sangkien.events"
    seen: list[Delivery] = field(default_factory=list)
    _connection: Any = None

    async def __aenter__(self) -> Tap:
        self._connection = await aio_pika.connect_robust(self.url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        for key in self.routing_keys:
            await queue.bind(exchange, key)
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
        self.seen.append(
            Delivery(
                message.routing_key or "",
                message.message_id,
                message.correlation_id,
                dict(message.headers),
                body,
                message.body,
            )
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


async def poll(
    probe: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str
) -> Any:
    """Call ``probe`` until ``done(result)``; raise with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {result!r}")
        await asyncio.sleep(0.05)


def broker_port() -> int:
    """Port of the tests' node (not the demo's), overridable."""
    return int(os.environ.get("SANGKIEN_TEST_RABBIT_PORT", "5698"))

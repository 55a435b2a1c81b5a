"""Benchmark: messages per second taken off a quorum queue by the project's consumer, beside a
FastStream subscriber and raw aio-pika, in one run on one private RabbitMQ node.

    .venv/bin/python -m bench.consumer [--messages 20000]

The same persistent ``submission.received.v1`` events (about 1.4 KB each) are published once per
run into a fresh queue, then drained by:

- raw aio-pika, acking every 500 with ``multiple`` (the floor of what this client and broker cost);
- a FastStream subscriber as the services used it (prefetch 50, one ack per message, the body
  parsed against its contract);
- ``shared.messaging.consumer.Consumer`` with a batch of one, and with batches of 500 (parse,
  commit of the batch, one multiple ack).

The commit does no database work, so the table compares what each way of consuming costs by
itself. It is why the services consume through aio-pika and publish through FastStream
(``docs/architecture.md``).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Sequence
from typing import Annotated, Any

import aio_pika
import typer
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from rich.console import Console
from rich.table import Table

from bench.aggregation import BENCH_RABBIT_PORT, RABBIT, RAW_QUEUE, new_vhost, raw_consume
from pipeline.texts import initiative
from shared.contracts.registry import CATALOG
from shared.contracts.submission import ReceivedV1
from shared.messaging.consumer import Consumer, claimed_schema
from shared.messaging.publishers import broker_user
from shared.messaging.topology import DEDUP_RECEIVED, declare_topology
from shared.runtime import make_broker
from tests.support.events import received

QUEUE = DEDUP_RECEIVED.name


async def publish(url: str, count: int) -> None:
    """Publish ``count`` events to the dedup queue and the raw queue, confirms in windows."""
    await declare_topology(url)
    rng = random.Random(1)
    events = [received(initiative(rng)) for _ in range(min(count, 2000))]
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("sangkien.events")
        raw = await channel.declare_queue(
            RAW_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await raw.bind(exchange, routing_key="submission.received.v1")
        window: list[asyncio.Future[object]] = []
        for n in range(count):
            event = events[n % len(events)].model_copy(update={"message_id": f"m-{n}"})
            message = aio_pika.Message(
                event.model_dump_json().encode(),
                message_id=event.message_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=dict[str, Any](event.schema_header()),
                user_id=broker_user(url),
            )
            window.append(
                asyncio.ensure_future(exchange.publish(message, "submission.received.v1"))
            )
            if len(window) >= 1000:
                await asyncio.gather(*window)
                window.clear()
        await asyncio.gather(*window)


async def faststream_consume(url: str, count: int) -> float:
    """Seconds a FastStream subscriber (prefetch 50, an ack per message) takes for ``count``."""
    broker = RabbitBroker(url, log_level=0)
    done = asyncio.Event()
    seen = 0

    async def raw_body(message: Any) -> bytes:
        return bytes(message.body)

    @broker.subscriber(
        DEDUP_RECEIVED.queue(),
        channel=Channel(prefetch_count=50),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
    )
    async def take(body: bytes, message: RabbitMessage) -> None:
        nonlocal seen
        schema = claimed_schema(message.headers, message.raw_message.routing_key)
        CATALOG.parse(schema, body, ReceivedV1)
        seen += 1
        if seen == count:
            done.set()

    started = time.perf_counter()
    async with broker:
        await broker.start()
        await done.wait()
        elapsed = time.perf_counter() - started
    return elapsed


async def consumer_consume(url: str, count: int, max_batch: int) -> float:
    """Seconds the project's consumer takes for ``count`` with batches of ``max_batch``."""
    done = asyncio.Event()
    seen = 0

    async def commit(events: Sequence[ReceivedV1]) -> int:
        nonlocal seen
        seen += len(events)
        if seen >= count:
            done.set()
        return len(events)

    broker = make_broker(url, "bench")
    await broker.connect()
    consumer = Consumer(
        broker=broker, spec=DEDUP_RECEIVED, model=ReceivedV1, commit=commit, max_batch=max_batch
    )
    connection = await aio_pika.connect_robust(url)
    started = time.perf_counter()
    await consumer.start(connection)
    await done.wait()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await connection.close()
    await broker.stop()
    return elapsed


def main(
    messages: Annotated[int, typer.Option(help="Messages drained by each way.")] = 20_000,
) -> None:
    """Print the table (see the module docstring)."""
    console = Console()
    subprocess.run([str(RABBIT), "start", BENCH_RABBIT_PORT, "--fresh"], check=True)
    table = Table(title=f"Consuming {messages:,} persistent events from a quorum queue")
    for column in ("way", "seconds", "messages/s", "× raw"):
        table.add_column(column, justify="right" if column != "way" else "left")
    try:
        ways = {
            "raw aio-pika, multiple ack ×500 (baseline)": None,
            "FastStream subscriber, prefetch 50, ack each": faststream_consume,
            "Consumer, batch of 1": lambda url, n: consumer_consume(url, n, 1),
            "Consumer, batches of 500": lambda url, n: consumer_consume(url, n, 500),
        }
        raw_seconds = 0.0
        for way, drain in ways.items():
            url = new_vhost(BENCH_RABBIT_PORT)
            asyncio.run(publish(url, messages))
            if drain is None:
                seconds = raw_seconds = asyncio.run(raw_consume(url, messages))
            else:
                seconds = asyncio.run(drain(url, messages))
            table.add_row(
                way,
                f"{seconds:.2f}",
                f"{messages / seconds:,.0f}",
                f"{raw_seconds / seconds:.2f}",
            )
    finally:
        subprocess.run([str(RABBIT), "stop", BENCH_RABBIT_PORT], check=False)
    console.print(table)


if __name__ == "__main__":
    typer.run(main)

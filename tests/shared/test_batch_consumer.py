"""The batch consumer against the real broker when the database stays unreachable."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest
from faststream.rabbit import RabbitBroker

from pipeline.tap import Tap
from pipeline.texts import initiative
from shared.contracts.submission import ReceivedV1
from shared.messaging import batches
from shared.messaging.batches import BatchConsumer
from shared.messaging.topology import DEDUP_RECEIVED, declare_topology
from shared.polling import poll
from tests.support.events import received


class Database:
    """A commit that fails while the database is down, and records what it committed."""

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.committed: list[str] = []

    async def commit(self, events: Sequence[ReceivedV1]) -> int:
        self.attempts += 1
        if self.down:
            raise OSError("connection refused")
        self.committed.extend(event.message_id for event in events)
        return len(events)


def consumer_of(broker_url: str, database: Database) -> BatchConsumer[ReceivedV1]:
    return BatchConsumer(
        broker=RabbitBroker(broker_url),
        spec=DEDUP_RECEIVED,
        model=ReceivedV1,
        commit=database.commit,
        max_batch=4,
        linger=0.05,
    )


async def publish_received(broker_url: str, count: int) -> list[ReceivedV1]:
    await declare_topology(broker_url)
    rng = random.Random(3)
    events = [received(initiative(rng)) for _ in range(count)]
    async with Tap(broker_url, ()) as tap:
        for event in events:
            await tap.publish(
                event.routing_key(), event.model_dump_json().encode(), event.message_id
            )
    return events


async def test_a_consumer_waits_out_a_database_outage_past_its_patience(
    broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "DATABASE_PATIENCE", 0.0)
    events = await publish_received(broker_url, 6)
    database = Database()
    consumer = consumer_of(broker_url, database)
    await consumer.start(broker_url)
    try:
        await poll(lambda: database.attempts, lambda n: n >= 3, 30, "three attempts")
        database.down = False
        await poll(lambda: len(database.committed), lambda n: n == len(events), 30, "committed")
        assert database.committed == [event.message_id for event in events]  # in order, once
        assert consumer.connected
    finally:
        await consumer.stop()


async def test_a_consumer_waiting_for_the_database_stops_at_once_and_loses_nothing(
    broker_url: str,
) -> None:
    events = await publish_received(broker_url, 3)
    down = Database()
    consumer = consumer_of(broker_url, down)
    await consumer.start(broker_url)
    await poll(lambda: down.attempts, lambda n: n >= 1, 30, "a first attempt")
    await asyncio.wait_for(consumer.stop(), timeout=10)
    up = Database()
    up.down = False
    again = consumer_of(broker_url, up)
    await again.start(broker_url)
    try:
        await poll(lambda: len(up.committed), lambda n: n == len(events), 30, "committed")
        assert up.committed == [event.message_id for event in events]
    finally:
        await again.stop()

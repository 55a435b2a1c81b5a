"""The one consumer against the real broker: a batch of one and a batch of many give the same
outcome for good, refused, poison and failing messages and a database outage; order holds; a
consumer that cannot dead-letter stops, says so, and loses nothing; one whose connection is lost
mid-batch goes on."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import aio_pika
import pytest

from pipeline.tap import Tap
from pipeline.texts import initiative
from shared.contracts.submission import ReceivedV1
from shared.messaging import consumer as consumer_module
from shared.messaging.consumer import Consumer, PoisonEvents
from shared.messaging.topology import DEDUP_RECEIVED, declare_topology
from shared.polling import poll
from shared.runtime import make_broker
from tests.support.broker import PrivateRabbit
from tests.support.events import received
from tests.support.publish import publish_raw, take_messages

DLQ = DEDUP_RECEIVED.dead_letter_name


class Database:
    """A commit that fails while the database is down, refuses poison, fails on one event for
    another reason, waits while held, and records what it committed (each id once, as an inbox
    would)."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.held = asyncio.Event()
        self.held.set()
        self.attempts = 0
        self.poison: set[str] = set()
        self.broken: set[str] = set()
        self.committed: list[str] = []

    async def commit(self, events: Sequence[ReceivedV1]) -> int:
        self.attempts += 1
        await self.held.wait()
        if self.down:
            raise OSError("connection refused")
        poison = {e.message_id: "no such union" for e in events if e.message_id in self.poison}
        if poison:
            raise PoisonEvents(poison)
        if any(e.message_id in self.broken for e in events):
            raise RuntimeError("a bug")
        fresh = [e.message_id for e in events if e.message_id not in self.committed]
        self.committed.extend(fresh)
        return len(fresh)


class Failures:
    """What ``on_failure`` was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, BaseException]] = []

    def __call__(self, queue: str, error: BaseException) -> None:
        self.seen.append((queue, error))


async def started(
    broker_url: str, database: Database, max_batch: int, failures: Failures | None = None
) -> tuple[Consumer[ReceivedV1], aio_pika.abc.AbstractRobustConnection]:
    broker = make_broker(broker_url, "test")
    await broker.connect()
    consumer = Consumer(
        broker=broker,
        spec=DEDUP_RECEIVED,
        model=ReceivedV1,
        commit=database.commit,
        max_batch=max_batch,
        linger=0.05,
        on_failure=failures,
    )
    connection = await aio_pika.connect_robust(broker_url)
    await consumer.start(connection)
    return consumer, connection


async def stopped(
    consumer: Consumer[ReceivedV1], connection: aio_pika.abc.AbstractConnection
) -> None:
    await consumer.stop()
    await connection.close()


def events(count: int, seed: int = 3) -> list[ReceivedV1]:
    rng = random.Random(seed)
    return [received(initiative(rng)) for _ in range(count)]


async def publish(broker_url: str, batch: Sequence[ReceivedV1]) -> None:
    async with Tap(broker_url, ()) as tap:
        for event in batch:
            await tap.publish(
                event.routing_key(), event.model_dump_json().encode(), event.message_id
            )


async def publish_not_json(broker_url: str, message_id: str) -> None:
    await publish_raw(broker_url, "submission.received.v1", b"{not json", message_id=message_id)


@pytest.mark.parametrize("max_batch", [1, 4])
async def test_a_batch_of_one_and_of_many_give_the_same_outcome(
    broker_url: str, max_batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "PAUSE_BEFORE_NACK", 0.01)
    monkeypatch.setattr(consumer_module, "DATABASE_PATIENCE", 0.0)  # errors logged, still waits
    await declare_topology(broker_url)
    good, poison, broken = events(8), events(1, seed=4)[0], events(1, seed=5)[0]
    database = Database(down=True)
    database.poison.add(poison.message_id)
    database.broken.add(broken.message_id)
    await publish(broker_url, good[:3])
    await publish_not_json(broker_url, "not-json-1")
    await publish(broker_url, [good[3], poison, good[4], broken, *good[5:]])

    consumer, connection = await started(broker_url, database, max_batch)
    try:
        await poll(lambda: database.attempts, lambda n: n >= 3, 30, "three attempts while down")
        assert database.committed == []
        database.down = False
        letters = await take_messages(broker_url, DLQ, 3, timeout=60)
        await poll(lambda: len(database.committed), lambda n: n == len(good), 30, "committed")
        assert database.committed == [event.message_id for event in good]  # in order, once
        reasons = {m.message_id: m.headers.get("x-dead-letter-reason") for m in letters}
        assert reasons.keys() == {"not-json-1", poison.message_id, broken.message_id}
        assert str(reasons["not-json-1"]).startswith("malformed_json")
        assert reasons[poison.message_id] == "no such union"
        # The broken one went round until the queue's delivery limit dead-lettered it.
        broken_letter = next(m for m in letters if m.message_id == broken.message_id)
        assert broken_letter.headers["x-first-death-reason"] == "delivery_limit"
        assert await consumer.problem() is None
    finally:
        await stopped(consumer, connection)


async def test_a_single_active_queue_keeps_its_order_within_and_across_batches(
    broker_url: str,
) -> None:
    await declare_topology(broker_url)
    batch = events(60)
    await publish(broker_url, batch)
    database = Database()
    consumer, connection = await started(broker_url, database, max_batch=7)
    try:
        await poll(lambda: len(database.committed), lambda n: n == len(batch), 30, "committed")
        assert database.committed == [event.message_id for event in batch]
        assert database.attempts >= len(batch) // 7  # in several batches
    finally:
        await stopped(consumer, connection)


async def test_a_consumer_waiting_for_the_database_stops_at_once_and_loses_nothing(
    broker_url: str,
) -> None:
    await declare_topology(broker_url)
    batch = events(3)
    await publish(broker_url, batch)
    down = Database(down=True)
    consumer, connection = await started(broker_url, down, max_batch=4)
    await poll(lambda: down.attempts, lambda n: n >= 1, 30, "a first attempt")
    await asyncio.wait_for(stopped(consumer, connection), timeout=10)
    up = Database()
    again, connection = await started(broker_url, up, max_batch=4)
    try:
        await poll(lambda: len(up.committed), lambda n: n == len(batch), 30, "committed")
        assert up.committed == [event.message_id for event in batch]
    finally:
        await stopped(again, connection)


async def test_a_consumer_that_cannot_dead_letter_stops_and_says_so_then_nothing_is_lost(
    broker_url: str,
) -> None:
    await declare_topology(broker_url)
    async with await aio_pika.connect(broker_url) as admin:
        channel = await admin.channel()
        await channel.queue_delete(DLQ)  # the dead letter comes back unroutable
    before, after = events(2), events(2, seed=9)
    await publish(broker_url, before)
    await publish_not_json(broker_url, "not-json-2")
    await publish(broker_url, after)
    database, failures = Database(), Failures()
    consumer, connection = await started(broker_url, database, max_batch=1, failures=failures)
    try:
        await poll(lambda: failures.seen, bool, 30, "the consumer to report its failure")
        [(queue, _error)] = failures.seen
        assert queue == DEDUP_RECEIVED.name
        assert str(await consumer.problem()).startswith("stopped:")
        assert database.committed == [event.message_id for event in before]
    finally:
        await stopped(consumer, connection)

    await declare_topology(broker_url)  # the dead-letter queue is back
    consumer, connection = await started(broker_url, database, max_batch=4)
    try:
        [letter] = await take_messages(broker_url, DLQ, 1)
        assert letter.message_id == "not-json-2"
        await poll(lambda: len(database.committed), lambda n: n == 4, 30, "the rest committed")
        assert database.committed == [event.message_id for event in [*before, *after]]
    finally:
        await stopped(consumer, connection)


async def test_a_consumer_whose_connection_is_closed_mid_batch_goes_on_and_loses_nothing(
    broker_url: str, rabbit: PrivateRabbit
) -> None:
    """A broker node stopping closes every connection on it while a batch is being committed
    (and the next one, holding a message to dead-letter, waits): the batch can no longer be
    acked, and the consumer, still running, takes it again once its connection is back."""
    await declare_topology(broker_url)
    first, second = events(3), events(3, seed=9)
    await publish(broker_url, first)
    await publish_not_json(broker_url, "not-json-3")
    await publish(broker_url, second)
    database, failures = Database(), Failures()
    database.held.clear()
    consumer, connection = await started(broker_url, database, max_batch=3, failures=failures)
    try:
        await poll(lambda: database.attempts, lambda n: n >= 1, 30, "the first batch")
        vhost = broker_url.rsplit("/", 1)[1]
        await asyncio.to_thread(rabbit.ctl, "close_all_connections", "-p", vhost, "node stopping")
        database.held.set()
        await poll(lambda: len(database.committed), lambda n: n == 6, 60, "all committed")
        assert database.committed == [event.message_id for event in [*first, *second]]
        [letter] = await take_messages(broker_url, DLQ, 1, timeout=60)
        assert letter.message_id == "not-json-3"
        await poll(consumer.problem, lambda problem: problem is None, 60, "consuming again")
        assert failures.seen == []
    finally:
        await stopped(consumer, connection)


async def test_a_consumer_whose_queue_is_deleted_is_no_longer_registered(broker_url: str) -> None:
    await declare_topology(broker_url)
    consumer, connection = await started(broker_url, Database(), max_batch=4)
    try:
        assert await consumer.problem() is None
        channel = await connection.channel()
        await channel.queue_delete(DEDUP_RECEIVED.name)
        await poll(consumer.problem, lambda problem: problem is not None, 30, "a problem")
        assert "not registered" in str(await consumer.problem())
    finally:
        await stopped(consumer, connection)

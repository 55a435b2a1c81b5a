"""What every service process runs: its database, the broker connection, its consumers, the
outbox relay.

Start-up never waits for the broker: the HTTP side serves (and the outbox fills) while a
background task connects, declares the topology and starts the consumers, retrying with
backoff. aio-pika's robust connections then ride out broker restarts. Readiness names what is
wrong: the database, the broker, or a queue whose consumer stopped or is not registered.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import sqlalchemy as sa
import structlog
from aio_pika.abc import AbstractConnection, AbstractRobustConnection
from faststream.rabbit import Channel, RabbitBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contracts.envelope import Message
from shared.db import make_engine, make_sessionmaker, migrate
from shared.messaging.consumer import Commit, Consumer, Refusal, Vet
from shared.messaging.inbox import Apply, apply_new
from shared.messaging.outbox import OutboxRelay
from shared.messaging.topology import QueueSpec, declare_topology
from shared.retrying import retrying
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)


def tune_garbage_collection() -> None:
    """Once start-up is done: move what it loaded out of the garbage collector's sight, and
    collect the young generation less often.

    What start-up loads (modules, reference data with its 126,000 unions, a rebuilt dedup
    index) lives as long as the process; left in view, every full collection walks all of it
    again. And a batch of thousands of events allocates far more than the 700 objects that
    trigger a young collection by default, so it collected hundreds of times per batch and
    promoted its short-lived objects into older generations to be walked again. Aggregation's
    counting spent half its time in collections (40,000 events in-process: 50 µs per event,
    22 µs with the collector off); with both settings the in-process ledger went from 4,820 to
    5,706 events/s (``bench.aggregation_profile``, 300,000 events).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def make_broker(url: str, service: str) -> RabbitBroker:
    """A broker whose publishes wait for confirms and raise when a mandatory message is returned."""
    return RabbitBroker(
        url,
        default_channel=Channel(publisher_confirms=True, on_return_raises=True),
        app_id=service,
        graceful_timeout=15.0,
        reconnect_interval=1.0,
        # FastStream's per-message access lines go to our JSON logs at DEBUG: at INFO they
        # would cost more than the handlers at thousands of messages per second.
        logger=logging.getLogger("sangkien.broker"),
        log_level=logging.DEBUG,
    )


class Runtime:
    """Database, broker, consumers and relay of one service process, started and stopped
    together."""

    def __init__(self, service: str, settings: CommonSettings, migrations: Path) -> None:
        self.service = service
        self.settings = settings
        self.migrations = migrations
        self.engine: AsyncEngine = make_engine(settings.database_url_for(service))
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.broker = make_broker(settings.broker_url, service)
        self.relay = OutboxRelay(
            self.broker,
            self.sessions,
            batch=settings.relay_batch,
            idle_seconds=settings.relay_idle_seconds,
            lock_rows=self.engine.dialect.name != "sqlite",
        )
        self.broker_started = False
        self.consumers: list[Consumer[Any]] = []
        # Queue → why its consumer stopped; a service with any is not ready and exits.
        self.failures: dict[str, str] = {}
        self._failure_listeners: list[Callable[[str], None]] = []
        self._consuming: AbstractRobustConnection | None = None
        self._probe: AbstractConnection | None = None
        self._connecting: asyncio.Task[None] | None = None

    def consume(
        self,
        spec: QueueSpec,
        model: type[M],
        *,
        apply: Apply[M] | None = None,
        commit: Commit[M] | None = None,
        answer: Apply[Refusal] | None = None,
        vet: Vet[M] | None = None,
        max_batch: int | None = None,
        linger: float = 0.05,
        lock: asyncio.Lock | None = None,
    ) -> None:
        """Consume one of this service's queues (``shared.messaging.consumer``).

        Each batch is either applied by ``apply`` in one transaction of this process, with its
        inbox records (``apply_new``), or handed to ``commit``, which must apply it exactly
        once itself. ``answer`` answers refused commands the same way (``apply_new``).
        ``max_batch`` defaults to ``SANGKIEN_CONSUMER_BATCH``; consumers sharing ``lock``
        never apply two batches at once.
        """
        if (apply is None) == (commit is None):
            raise TypeError("consume needs exactly one of apply and commit")
        if apply is not None:
            commit = partial(apply_new, self.sessions, spec.name, apply=apply)
        assert commit is not None
        self.consumers.append(
            Consumer(
                broker=self.broker,
                spec=spec,
                model=model,
                commit=commit,
                answer=answer and partial(apply_new, self.sessions, spec.name, apply=answer),
                vet=vet,
                max_batch=max_batch or self.settings.consumer_batch,
                linger=linger,
                lock=lock,
                after_commit=self.relay.wake,
                on_failure=self._consumer_failed,
            )
        )

    def when_a_consumer_fails(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with the queue's name when a consumer stops without being told to."""
        self._failure_listeners.append(listener)

    def _consumer_failed(self, queue: str, error: BaseException) -> None:
        self.failures[queue] = repr(error)[:300]
        for listener in self._failure_listeners:
            listener(queue)

    async def start(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        """Migrate the database, run ``prepare`` (e.g. rebuild an index), then connect to the
        broker in the background: no message is consumed before ``prepare`` is done."""
        await migrate(self.engine, self.migrations)
        if prepare is not None:
            await prepare()
        tune_garbage_collection()
        self._connecting = asyncio.create_task(self._connect(), name="broker-connect")

    async def _connect(self) -> None:
        async for attempt in retrying("broker_unavailable", on=Exception):
            with attempt:
                await self.broker.connect()
                if self.settings.declare_topology:
                    await declare_topology(self.settings.broker_url)
                await self.broker.start()
                if self.consumers:
                    await self._start_consumers()
        self.broker_started = True
        log.info("broker_connected")
        if self.settings.relay_enabled:
            self.relay.start()

    async def _start_consumers(self) -> None:
        if self._consuming is None:
            # One connection for all of this process's consumers, a channel each.
            self._consuming = await aio_pika.connect_robust(
                self.settings.broker_url,
                client_properties={"connection_name": f"{self.service}:consumers"},
            )
        for consumer in self.consumers:
            if not consumer.started:
                await consumer.start(self._consuming)

    async def stop(self) -> None:
        """Stop consuming (letting the batches in hand finish), stop the relay, close the
        database."""
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        for consumer in self.consumers:
            await consumer.stop()
        for connection in (self._consuming, self._probe):
            if connection is not None:
                await connection.close()
        self._consuming = self._probe = None
        await self.relay.stop()
        await self.broker.stop()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, str]:
        """Each check (the database, the broker, every consumer) with "ok" or what is wrong."""
        checks = {"database": await self._database_problem() or "ok"}
        if not self.broker_started:
            checks["broker"] = "connecting"
        elif not await self.broker.ping(timeout=1.0):
            checks["broker"] = "not answering"
        else:
            checks["broker"] = "ok"
        for consumer in self.consumers:
            name = consumer.spec.name
            problem = await consumer.problem() if self.broker_started else "connecting"
            checks[f"queue {name}"] = problem or "ok"
        if checks["broker"] == "ok":
            checks.update(await self._unconsumed_queues())
        return checks

    async def _database_problem(self) -> str | None:
        try:
            async with self.sessions() as session:
                await session.execute(sa.text("SELECT 1"))
        except Exception as error:
            return f"unreachable: {type(error).__name__}"
        return None

    async def _unconsumed_queues(self) -> dict[str, str]:
        """The broker's side: each consumed queue exists and has a consumer registered. Asked
        on a plain connection of its own, kept between calls, that never waits for a recovery."""
        problems: dict[str, str] = {}
        try:
            async with asyncio.timeout(2.0):
                if self._probe is None or self._probe.is_closed:
                    self._probe = await aio_pika.connect(self.settings.broker_url, timeout=2.0)
                for consumer in self.consumers:
                    name = f"queue {consumer.spec.name}"
                    try:
                        async with self._probe.channel(publisher_confirms=False) as channel:
                            queue = await channel.declare_queue(consumer.spec.name, passive=True)
                    except aio_pika.exceptions.ChannelNotFoundEntity:
                        problems[name] = "the queue does not exist on the broker"
                        continue
                    if not queue.declaration_result.consumer_count:
                        problems[name] = "no consumer registered on the broker"
        except (TimeoutError, aio_pika.exceptions.AMQPError, OSError, RuntimeError) as error:
            # A connection lost with the broker is not always marked closed: start anew.
            problems["broker"] = f"cannot ask the broker about its queues: {error!r}"[:200]
            self._probe = None
        return problems

"""What every service process runs: its database, the broker connection, the outbox relay.

Start-up never waits for the broker: the HTTP side serves (and the outbox fills) while a
background task connects, declares the topology and starts the subscribers, retrying with
backoff. aio-pika's robust connection then rides out broker restarts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from faststream.rabbit import Channel, RabbitBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contracts.envelope import Message
from shared.db import make_engine, make_sessionmaker, migrate
from shared.messaging.batches import BatchConsumer, BatchHandler, Commit, Vet, apply_new
from shared.messaging.consumer import ContractErrorHandler, Handler, subscribe
from shared.messaging.outbox import OutboxRelay
from shared.messaging.topology import QueueSpec, declare_topology
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
    """Database, broker and relay of one service process, started and stopped together."""

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
        self.batch_consumers: list[BatchConsumer[Any]] = []
        self._connecting: asyncio.Task[None] | None = None

    def subscribe(
        self,
        spec: QueueSpec,
        model: type[M],
        handle: Handler[M],
        *,
        on_contract_error: ContractErrorHandler | None = None,
    ) -> None:
        """Consume one of this service's queues (see ``shared.messaging.consumer.subscribe``)."""
        subscribe(
            self.broker,
            self.sessions,
            self.relay,
            spec,
            model,
            handle,
            prefetch=self.settings.prefetch,
            on_contract_error=on_contract_error,
        )

    def consume_in_batches(
        self,
        spec: QueueSpec,
        model: type[M],
        apply: BatchHandler[M],
        *,
        vet: Vet[M] | None = None,
        max_batch: int,
        linger: float,
        lock: asyncio.Lock,
    ) -> None:
        """Consume one of this service's queues in micro-batches (``shared.messaging.batches``),
        each applied by ``apply`` in one transaction of this process (see ``apply_new``);
        consumers sharing ``lock`` never apply two batches at once."""
        self.consume_batches(
            spec,
            model,
            partial(apply_new, self.sessions, spec.name, apply=apply),
            vet=vet,
            max_batch=max_batch,
            linger=linger,
            lock=lock,
        )

    def consume_batches(
        self,
        spec: QueueSpec,
        model: type[M],
        commit: Commit[M],
        *,
        vet: Vet[M] | None = None,
        max_batch: int,
        linger: float,
        lock: asyncio.Lock,
        hold_after_batches: int = 0,
    ) -> None:
        """Consume one of this service's queues in micro-batches, each committed by ``commit``."""
        self.batch_consumers.append(
            BatchConsumer(
                broker=self.broker,
                spec=spec,
                model=model,
                commit=commit,
                vet=vet,
                after_commit=self.relay.wake,
                max_batch=max_batch,
                linger=linger,
                lock=lock,
                hold_after_batches=hold_after_batches,
            )
        )

    async def start(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        """Migrate the database, run ``prepare`` (e.g. rebuild an index), then connect to the
        broker in the background: no message is consumed before ``prepare`` is done."""
        await migrate(self.engine, self.migrations)
        if prepare is not None:
            await prepare()
        tune_garbage_collection()
        self._connecting = asyncio.create_task(self._connect(), name="broker-connect")

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.broker.connect()
                if self.settings.declare_topology:
                    await declare_topology(self.settings.broker_url)
                await self.broker.start()
                for consumer in self.batch_consumers:
                    if not consumer.connected:
                        await consumer.start(self.settings.broker_url)
            except Exception as exc:
                log.warning("broker_unavailable", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.broker_started = True
            log.info("broker_connected")
            if self.settings.relay_enabled:
                self.relay.start()
            return

    async def stop(self) -> None:
        """Stop consuming (letting running handlers finish), stop the relay, close the database."""
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        for consumer in self.batch_consumers:
            await consumer.stop()
        await self.relay.stop()
        await self.broker.stop()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, bool]:
        """Whether the database answers and the broker connection is up with subscribers started."""
        try:
            async with self.sessions() as session:
                await session.execute(sa.text("SELECT 1"))
            database = True
        except Exception:
            database = False
        broker = (
            self.broker_started
            and await self.broker.ping(timeout=1.0)
            and all(consumer.connected for consumer in self.batch_consumers)
        )
        return {"database": database, "broker": broker}

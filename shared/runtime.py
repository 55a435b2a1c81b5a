"""What every service process runs: its database, the broker connection, its consumers, the
outbox relay.

Start-up never waits for the broker: the HTTP side serves (and the outbox fills) while a
background task connects, declares the topology and starts the consumers, retrying with
backoff. aio-pika's robust connections then ride out broker restarts. Readiness names what is
wrong: the database, the broker, or a queue whose consumer stopped or is not registered.

A service with parts that must have one writer across replicas creates its runtime ``leased``:
those consumers (``consume(leased=True)``) and background parts (``while_active``) run only in the
replica holding the service's lease, and each of their transactions is fenced
(``shared.lease``). The other replicas are ready standbys.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
from shared.db import make_engine, make_sessionmaker, migrate, unapplied_migrations
from shared.lease import Lease
from shared.messaging.consumer import Commit, Consumer, Refusal, Vet
from shared.messaging.inbox import Apply, InboxKey, apply_new, message_id_of
from shared.messaging.outbox import OutboxRelay
from shared.messaging.publishers import broker_user
from shared.messaging.topology import QueueSpec, declare_topology
from shared.retention import Retention, purge_inbox
from shared.retrying import retrying
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)
CONNECTION_SUFFIX = f"{socket.gethostname()}:{os.getpid()}"
# Readiness values of a check that does not keep a replica from being ready.
READY = frozenset({"ok", "active", "standby"})


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

    def __init__(
        self, service: str, settings: CommonSettings, migrations: Path, *, leased: bool = False
    ) -> None:
        self.service = service
        self.settings = settings
        self.migrations = migrations
        self.engine: AsyncEngine = make_engine(
            settings.database_url_for(service),
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.lease = (
            Lease(
                self.sessions,
                service,
                ttl=settings.lease_seconds,
                on_gained=self._became_active,
                on_lost=self._became_standby,
            )
            if leased
            else None
        )
        self._active = False
        self._consumers_wanted = False  # the broker is connected: consumers may start
        self._leased_consumers: list[Consumer[Any]] = []
        self._active_parts: list[tuple[Callable[[], None], Callable[[], Awaitable[None]]]] = []
        self._roles = asyncio.Lock()
        self.broker = make_broker(settings.broker_url, service)
        self.relay = OutboxRelay(
            self.broker,
            self.sessions,
            batch=settings.relay_batch,
            idle_seconds=settings.relay_idle_seconds,
            lock_rows=self.engine.dialect.name != "sqlite",
            user_id=broker_user(settings.broker_url),
        )
        self.retention = Retention(self.sessions)
        self.retention.add("inbox", timedelta(days=settings.inbox_retention_days), purge_inbox)
        self.broker_started = False
        self.consumers: list[Consumer[Any]] = []
        # Queue → why its consumer stopped; a service with any is not ready and exits.
        self.failures: dict[str, str] = {}
        self._failure_listeners: list[Callable[[str], None]] = []
        self._consuming: AbstractRobustConnection | None = None
        self._probe: AbstractConnection | None = None
        # What /ready shows besides its checks (the reference data's version, say).
        self.details: dict[str, Callable[[], object]] = {}
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
        leased: bool = False,
        inbox_key: InboxKey = message_id_of,
    ) -> None:
        """Consume one of this service's queues (``shared.messaging.consumer``).

        Each batch is either applied by ``apply`` in one transaction of this process, with its
        inbox records (``apply_new``), or handed to ``commit``, which must apply it exactly
        once itself. ``answer`` answers refused commands the same way (``apply_new``).
        ``max_batch`` defaults to ``SANGKIEN_CONSUMER_BATCH``; consumers sharing ``lock``
        never apply two batches at once. A ``leased`` consumer runs only while this replica
        holds the lease; its ``apply`` transactions are fenced, a ``commit`` must fence its own.
        """
        if (apply is None) == (commit is None):
            raise TypeError("consume needs exactly one of apply and commit")
        if leased and self.lease is None:
            raise TypeError(f"{spec.name} is leased but the {self.service} runtime has no lease")
        if apply is not None:
            fence = self.lease.fence if leased and self.lease is not None else None
            commit = partial(
                apply_new, self.sessions, spec.name, apply=apply, fence=fence, key=inbox_key
            )
        assert commit is not None
        consumer: Consumer[M] = Consumer(
            broker=self.broker,
            spec=spec,
            model=model,
            commit=commit,
            answer=answer
            and partial(apply_new, self.sessions, spec.name, apply=answer, key=inbox_key),
            vet=vet,
            max_batch=max_batch or self.settings.consumer_batch,
            linger=linger,
            lock=lock,
            after_commit=self.relay.wake,
            on_failure=self._consumer_failed,
            own_user=broker_user(self.settings.broker_url),
        )
        self.consumers.append(consumer)
        if leased:
            self._leased_consumers.append(consumer)

    @property
    def active(self) -> bool:
        """Whether this replica holds its service's lease (never, for a service without one)."""
        return self._active

    def while_active(self, start: Callable[[], None], stop: Callable[[], Awaitable[None]]) -> None:
        """Run a background part (started by ``start``) only while this replica holds the lease."""
        if self.lease is None:
            raise TypeError(f"the {self.service} runtime has no lease")
        self._active_parts.append((start, stop))

    def when_a_consumer_fails(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with the queue's name when a consumer stops without being told to."""
        self._failure_listeners.append(listener)

    def _consumer_failed(self, queue: str, error: BaseException) -> None:
        self.failures[queue] = repr(error)[:300]
        for listener in self._failure_listeners:
            listener(queue)

    async def start(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        """Migrate the database (or check that it is migrated), run ``prepare`` (e.g. rebuild an
        index), then connect to the broker and try for the lease in the background: no message
        is consumed before ``prepare`` is done."""
        if self.settings.migrate_on_start:
            await migrate(self.engine, self.migrations)
        elif problem := await unapplied_migrations(self.engine, self.migrations):
            raise RuntimeError(f"{problem}: run `python -m services.{self.service} migrate`")
        if prepare is not None:
            await prepare()
        tune_garbage_collection()
        self.retention.start()
        self._connecting = asyncio.create_task(self._connect(), name="broker-connect")
        if self.lease is not None:
            self.lease.start()

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
        """Start the consumers not yet started (the leased ones only while active)."""
        async with self._roles:
            self._consumers_wanted = True
            if self._consuming is None:
                # One connection for all of this process's consumers, a channel each.
                self._consuming = await aio_pika.connect_robust(
                    self.settings.broker_url,
                    # Names the process: operators (and the tests) tell replicas apart by it.
                    client_properties={
                        "connection_name": f"{self.service}:consumers:{CONNECTION_SUFFIX}"
                    },
                )
            for consumer in self.consumers:
                if not consumer.started and (
                    self._active or consumer not in self._leased_consumers
                ):
                    await consumer.start(self._consuming)

    async def _became_active(self) -> None:
        async with self._roles:
            self._active = True
            for start, _ in self._active_parts:
                start()
        # Before the broker is connected, its connecting task starts them (it sees _active).
        if self._consumers_wanted:
            await self._start_consumers()

    async def _became_standby(self) -> None:
        async with self._roles:
            self._active = False
            for consumer in self._leased_consumers:
                await consumer.stop()
            for _, stop in self._active_parts:
                await stop()

    async def stop(self) -> None:
        """Stop consuming (letting the batches in hand finish), stop the relay, close the
        database."""
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self.lease is not None:
            await self.lease.stop()
        for consumer in self.consumers:
            await consumer.stop()
        for connection in (self._consuming, self._probe):
            if connection is not None:
                await connection.close()
        self._consuming = self._probe = None
        await self.relay.stop()
        await self.retention.stop()
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
        if self.lease is not None:
            checks["lease"] = "active" if self._active else "standby"
        for consumer in self._running_consumers():
            name = consumer.spec.name
            problem = await consumer.problem() if self.broker_started else "connecting"
            checks[f"queue {name}"] = problem or "ok"
        if checks["broker"] == "ok":
            checks.update(await self._unconsumed_queues())
        return checks

    def _running_consumers(self) -> list[Consumer[Any]]:
        """The consumers that should be running: all but the leased ones of a standby."""
        return [c for c in self.consumers if self._active or c not in self._leased_consumers]

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
                for consumer in self._running_consumers():
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

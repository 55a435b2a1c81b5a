"""The whole broker topology, declared in one place.

One topic exchange carries every command and event, routed by ``<event>.v<major>``. Each
consumer gets one durable quorum queue per (service, event) with a delivery limit; a message that
exhausts it, or that a service refuses as poison, lands in that queue's own dead-letter queue.
Dead-lettering is at-least-once (``x-dead-letter-strategy``): a refused message is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

EVENTS_EXCHANGE = RabbitExchange("sangkien.events", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTER_EXCHANGE = RabbitExchange("sangkien.dead", type=ExchangeType.DIRECT, durable=True)

DELIVERY_LIMIT = 10
# A dead-letter queue keeps what it holds until an operator replays or drops it.
DEAD_LETTER_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class QueueSpec:
    """A durable quorum queue, the routing keys bound to it, and its dead-letter queue."""

    name: str
    routing_keys: tuple[str, ...]
    message_ttl_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dead_letter_name(self) -> str:
        """Name of this queue's dead-letter queue."""
        return f"{self.name}.dlq"

    def arguments(self) -> dict[str, Any]:
        """Queue arguments: quorum type, delivery limit, at-least-once dead-lettering."""
        args: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": self.name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
        if self.message_ttl_ms is not None:
            args["x-message-ttl"] = self.message_ttl_ms
        return {**args, **self.extra}

    def queue(self) -> RabbitQueue:
        """The queue as its consumers use it: passively (``declare_topology`` declares it)."""
        return RabbitQueue(  # type: ignore[call-overload]
            self.name,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments=self.arguments(),
            declare=False,
        )


def _consumer(service: str, routing_key: str) -> QueueSpec:
    return QueueSpec(name=f"{service}.{routing_key}", routing_keys=(routing_key,))


def every_address(routing_key: str) -> str:
    """The binding key that takes an event whatever portal it is addressed to: ``#`` matches
    zero words too, so the event published with its bare routing key as well."""
    return f"{routing_key}.#"


# (service, event) → queue. Every event of the catalog is bound to at least one queue, so a
# mandatory publish that comes back unroutable means the topology is wrong, never "no listener".
SUBMIT_COMMANDS = _consumer("submission", "submission.submit.v1")
SUBMISSION_SCREENED = _consumer("submission", "submission.screened.v1")
# Dedup's verdicts depend on every earlier submission, held in one process's index: only one
# consumer may be active; a second instance waits as a hot standby.
DEDUP_RECEIVED = QueueSpec(
    name="dedup.submission.received.v1",
    routing_keys=(every_address("submission.received.v1"),),
    extra={"x-single-active-consumer": True},
)
DEDUP_REVIEWED = _consumer("dedup", "submission.reviewed.v1")
# Aggregation applies micro-batches that all touch the top of the tree: competing consumers would
# only queue on the same rows. One instance applies, a second waits as a hot standby.
AGGREGATION_SCREENED = QueueSpec(
    name="aggregation.submission.screened.v1",
    routing_keys=("submission.screened.v1",),
    extra={"x-single-active-consumer": True},
)
AGGREGATION_REVIEWED = QueueSpec(
    name="aggregation.submission.reviewed.v1",
    routing_keys=("submission.reviewed.v1",),
    extra={"x-single-active-consumer": True},
)
# Notify compares each snapshot with the milestones it recorded and revises them: applied by two
# instances at once, an older snapshot could be compared after a newer one. One instance applies,
# a second waits as a hot standby.
NOTIFY_PROGRESS = QueueSpec(
    name="notify.progress.updated.v1",
    routing_keys=("progress.updated.v1",),
    extra={"x-single-active-consumer": True},
)
# Reference changes: each service keeps every version once, and every replica follows what its
# database holds (``shared.reference.live``): competing consumers are enough.
AGGREGATION_REFERENCE = _consumer("aggregation", "reference.changed.v1")
NOTIFY_REFERENCE = _consumer("notify", "reference.changed.v1")
# Feeds read outside the system: the operators' record of refused commands (whichever portal
# sent them), and of milestones and notices. They expire so that an absent reader cannot fill
# the disk.
AUDIT_REJECTIONS = QueueSpec(
    name="audit.rejections",
    routing_keys=(every_address("submission.rejected.v1"),),
    message_ttl_ms=7 * DAY_MS,
)
AUDIT_NOTICES = QueueSpec(
    name="audit.notices",
    routing_keys=(
        "milestone.reached.v1",
        "milestone.revised.v1",
        "notification.delivered.v1",
        "notification.failed.v1",
    ),
    message_ttl_ms=30 * DAY_MS,
)

OUTCOME_EVENTS = ("submission.received.v1", "submission.rejected.v1")


def portal_outcomes(portal: str) -> QueueSpec:
    """The outcomes queue of one portal: the received and rejected events addressed to it
    (``<event>.<portal>``), kept a week. A portal may declare more queues under its name."""
    return QueueSpec(
        name=f"{portal}.outcomes",
        routing_keys=tuple(f"{key}.{portal}" for key in OUTCOME_EVENTS),
        message_ttl_ms=7 * DAY_MS,
    )


# Stands for every portal's broker user as the owner of the intake command: which portals
# exist is the deployment's (``definitions``), each mapped to an API client (its scope).
PORTALS = "<portals>"
# Who publishes each command and event: the broker user of its owning service, or any portal.
# The definitions' topic permissions let each user publish only these routing keys, and every
# consumer checks each delivery's ``user_id`` again (``publishers``).
OWNERS: dict[str, str] = {
    "submission.submit.v1": PORTALS,
    "submission.received.v1": "submission",
    "submission.rejected.v1": "submission",
    "submission.reviewed.v1": "submission",
    "submission.screened.v1": "dedup",
    "progress.updated.v1": "aggregation",
    "milestone.reached.v1": "notify",
    "milestone.revised.v1": "notify",
    "notification.delivered.v1": "notify",
    "notification.failed.v1": "notify",
    "reference.changed.v1": "submission",
}

ALL_QUEUES: tuple[QueueSpec, ...] = (
    SUBMIT_COMMANDS,
    SUBMISSION_SCREENED,
    DEDUP_RECEIVED,
    DEDUP_REVIEWED,
    AGGREGATION_SCREENED,
    AGGREGATION_REVIEWED,
    NOTIFY_PROGRESS,
    AGGREGATION_REFERENCE,
    NOTIFY_REFERENCE,
    AUDIT_REJECTIONS,
    AUDIT_NOTICES,
)


async def declare_topology(url: str) -> None:
    """Declare exchanges, queues, dead-letter queues and bindings (idempotent).

    On a connection of its own, not through a service's FastStream broker: FastStream caches a
    declared queue with the channel that declared it, and a subscriber of that queue would then
    consume on that channel, without its own prefetch (every message at once, in concurrent
    tasks: unbounded, and in no guaranteed order).
    """
    await declare_queues(url, ALL_QUEUES)


async def declare_queues(url: str, specs: Sequence[QueueSpec]) -> None:
    """Declare the two exchanges and these queues, their bindings and dead-letter queues
    (a portal's own outcomes queue, say)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        events = await channel.declare_exchange(
            EVENTS_EXCHANGE.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        dead = await channel.declare_exchange(
            DEAD_LETTER_EXCHANGE.name, aio_pika.ExchangeType.DIRECT, durable=True
        )
        for spec in specs:
            queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments())
            for key in spec.routing_keys:
                await queue.bind(events, routing_key=key)
            dead_letters = await channel.declare_queue(
                spec.dead_letter_name, durable=True, arguments=DEAD_LETTER_ARGUMENTS
            )
            await dead_letters.bind(dead, routing_key=spec.name)

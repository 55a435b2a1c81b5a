"""Who may publish an event: its owner's broker user, proven by the AMQP ``user_id`` property.

RabbitMQ refuses a publish whose ``user_id`` is not the connection's own user, so a delivery
carrying ``user_id`` names who really published it. Every publisher of this project sets it;
every consumer refuses (dead-letters, with the reason) an event whose publisher is not its owner
(``topology.OWNERS``). One exception: a deployment where the services share one broker user (the
embedded one-node setup, all ``guest``) cannot tell them apart, so there a delivery published by
the consumer's own user is accepted; the broker's topic permissions are what keep other users
to their own events.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from shared.messaging.topology import OWNERS, PORTALS

DEFAULT_USER = "guest"  # AMQP's default when a URL names none


def broker_user(url: str) -> str:
    """The user an AMQP URL connects as."""
    user = urlsplit(url).username
    return unquote(user) if user else DEFAULT_USER


def publisher_problem(routing_key: str, publisher: str | None, own_user: str) -> str | None:
    """Why a delivery of ``routing_key`` published by ``publisher`` must be refused, or None."""
    owner = OWNERS.get(routing_key)
    if owner is None:
        return f"no publisher owns {routing_key!r}"
    if owner == PORTALS:
        # The intake command: which portal sent it decides its scope and its idempotency.
        return None if publisher else "a command must carry user_id, naming its portal"
    if publisher in (owner, own_user):
        return None
    who = f"user {publisher!r}" if publisher else "a publisher that did not set user_id"
    return f"published by {who}, not by {owner!r}, the owner of {routing_key}"

"""What every message on the bus carries, whatever its kind."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr

from shared.text import NO_CONTROL_PATTERN

# Namespace for message ids derived from their cause: a re-published message keeps its id.
MESSAGE_ID_NAMESPACE = uuid.UUID("4f5c3c0e-7d0b-4a55-9b1e-0d6f6b1f2a10")


def derived_message_id(*cause: str) -> str:
    """A stable message id computed from what caused the message (e.g. submission id + event)."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, "|".join(cause)))


def body_digest(body: bytes) -> str:
    """SHA-256 of a message body as delivered, in hexadecimal."""
    return hashlib.sha256(body).hexdigest()


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every command and event. Unknown fields are ignored (additive minor versions)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    NAME: ClassVar[str]
    MAJOR: ClassVar[int] = 1
    MINOR: ClassVar[int] = 0

    message_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=NO_CONTROL_PATTERN,
        description="Stable id: a redelivery or re-publish keeps it. No control characters.",
    )
    correlation_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=NO_CONTROL_PATTERN,
        description="Follows one submission through every service. No control characters.",
    )
    occurred_at: AwareDatetime = Field(description="When the producer created the message.")

    # How the broker delivered it (set by the consumer, not part of the body).
    _publisher: str | None = PrivateAttr(default=None)
    _body: bytes = PrivateAttr(default=b"")

    @classmethod
    def routing_key(cls) -> str:
        """Event name plus major version, e.g. ``submission.received.v1``."""
        return f"{cls.NAME}.v{cls.MAJOR}"

    def address(self) -> str:
        """The routing key this message is published with: its ``routing_key`` (an outcome
        addressed to one portal adds the portal's name)."""
        return self.routing_key()

    def delivered(self, publisher: str | None, body: bytes) -> Self:
        """This message as the broker delivered it: who published it (the AMQP ``user_id``,
        which RabbitMQ checks) and the body as sent (hashed only if ``digest`` is asked: every
        consumer delivers, only intake needs it)."""
        self._publisher = publisher
        self._body = body
        return self

    @property
    def publisher(self) -> str | None:
        """The broker user that published this delivery (None: not received from the broker)."""
        return self._publisher

    @property
    def digest(self) -> str:
        """``body_digest`` of the body as delivered (of b"" when not received from the broker)."""
        return body_digest(self._body)

    @classmethod
    def schema_header(cls) -> dict[str, str]:
        """AMQP headers naming the schema and its version."""
        return {"x-schema": cls.NAME, "x-schema-version": f"{cls.MAJOR}.{cls.MINOR}"}

"""The notification family: what happened to a milestone notice sent to a subscriber."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.contracts.envelope import Message


class Channel(StrEnum):
    """How a subscriber is told."""

    WEBHOOK = "webhook"
    EMAIL = "email"


class NotificationDeliveredV1(Message):
    """A notice (one milestone or a digest) reached its subscriber."""

    NAME = "notification.delivered"

    notification_id: str
    subscription_id: str
    channel: Channel
    milestone_ids: list[str]
    attempts: int = Field(ge=1)


class NotificationFailedV1(Message):
    """A notice could not be delivered within the retry limit; it is kept for replay."""

    NAME = "notification.failed"

    notification_id: str
    subscription_id: str
    channel: Channel
    milestone_ids: list[str]
    attempts: int = Field(ge=1)
    last_error: str
